/**
 * Streaming text output that appears under its final name only when complete: lines go to a temporary
 * file next to the target, which is fsynced and renamed on commit and removed on abort. A crash never
 * leaves a half-written file that looks finished.
 */
import * as fs from 'fs';
import * as path from 'path';

import { sweepStaleTempsOnce } from './stale-temps';

export class AtomicLineWriter {
  private readonly tmpPath: string;
  private readonly stream: fs.WriteStream;
  private failed: Error | null = null;
  private closed = false;

  constructor(readonly finalPath: string) {
    fs.mkdirSync(path.dirname(path.resolve(finalPath)), { recursive: true });
    sweepStaleTempsOnce(finalPath);
    this.tmpPath = `${finalPath}.tmp-${process.pid}-${Date.now()}`;
    this.stream = fs.createWriteStream(this.tmpPath, { encoding: 'utf8' });
    this.stream.on('error', (e) => { this.failed = e; });
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

  async commit(): Promise<void> {
    if (this.failed) throw this.failed;
    await this.close();
    const fd = fs.openSync(this.tmpPath, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.renameSync(this.tmpPath, this.finalPath);
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

/** Writes a whole small file atomically (temporary file + rename). */
export function writeFileAtomic(file: string, contents: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
