/**
 * Streaming text output that appears under its final name only when complete: lines go to a temporary
 * file next to the target (tempPathFor, so the stale-temp sweeper recognises it), which is fsynced and
 * renamed on commit and removed on abort or on a failed commit. A crash never leaves a half-written file
 * that looks finished.
 */
import * as fs from 'fs';
import * as path from 'path';

import { fsyncFile } from './atomic-write';
import { sweepStaleTempsOnce, tempPathFor } from './stale-temps';

export class AtomicLineWriter {
  private readonly tmpPath: string;
  private readonly stream: fs.WriteStream;
  private failed: Error | null = null;
  private closed = false;

  constructor(readonly finalPath: string) {
    fs.mkdirSync(path.dirname(path.resolve(finalPath)), { recursive: true });
    sweepStaleTempsOnce(finalPath);
    this.tmpPath = tempPathFor(finalPath);
    this.stream = fs.createWriteStream(this.tmpPath, { encoding: 'utf8' });
    this.stream.on('error', (e) => { this.failed = e; });
  }

  /** The temp file the lines go to until commit. */
  get tempPath(): string {
    return this.tmpPath;
  }

  /** Writes one line (newline added); waits when the stream buffer is full so memory stays bounded. */
  async writeLine(line: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.stream.write(line + '\n')) {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => { this.stream.off('drain', onDrain); reject(e); };
        const onDrain = () => { this.stream.off('error', onError); resolve(); };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  /** Flushes the temp file and renames it to the final name; on any failure the temp is removed. */
  async commit(): Promise<void> {
    try {
      if (this.failed) throw this.failed;
      await this.close();
      fsyncFile(this.tmpPath);
      fs.renameSync(this.tmpPath, this.finalPath);
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    try { await this.close(); } catch { /* the temporary file goes anyway */ }
    fs.rmSync(this.tmpPath, { force: true });
  }

  private close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}
