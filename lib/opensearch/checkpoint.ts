/**
 * Resumable ingest: which bulk batches are finished (every doc indexed or recorded as failed). Batch b
 * covers doc offsets [b * batchSize, (b + 1) * batchSize) of the input, so the identity of the run
 * (input, index, field, batch size) is stored too and a mismatching checkpoint is refused rather than
 * silently skipping the wrong documents.
 *
 * Batches finish nearly in order (at most `concurrency` are in flight), so the state is kept as a
 * prefix "all batches below N are done" plus the few finished above it: constant size however long the
 * input. The file is rewritten atomically (temporary file + rename), at most every `writeIntervalMs`
 * and on flush(); a crash loses at most that interval of progress, and those batches are re-sent on
 * resume, which is harmless because every document carries its _id.
 */
import * as fs from 'fs';

import { writeFileAtomic } from '../io';

export interface CheckpointIdentity {
  input: string;
  index: string;
  field: string;
  batchSize: number;
}

export interface CheckpointState extends CheckpointIdentity {
  version: 1;
  /** Finished batch numbers as merged half-open ranges [start, end). */
  done: [number, number][];
  docsIndexed: number;
  docsFailed: number;
}

export class Checkpoint {
  /** Every batch < prefix is done. */
  private prefix = 0;
  /** Done batches >= prefix. */
  private readonly above = new Set<number>();
  private lastWrite = 0;
  private dirty = false;
  docsIndexed = 0;
  docsFailed = 0;

  private constructor(readonly file: string | null, readonly identity: CheckpointIdentity, private readonly writeIntervalMs: number) {}

  /** Opens (or starts) the checkpoint at `file`; null keeps it in memory only. */
  static open(file: string | null, identity: CheckpointIdentity, writeIntervalMs = 1000): Checkpoint {
    const cp = new Checkpoint(file, identity, writeIntervalMs);
    if (file && fs.existsSync(file)) {
      let state: CheckpointState;
      try { state = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointState; } catch (e) {
        throw new Error(`checkpoint ${file} is unreadable (${(e as Error).message}); delete it to start over`);
      }
      for (const k of ['input', 'index', 'field', 'batchSize'] as const) {
        if (state[k] !== identity[k])
          throw new Error(`checkpoint ${file} belongs to another run (${k}: ${JSON.stringify(state[k])} vs ${JSON.stringify(identity[k])}); ` +
            'delete it or pass another --checkpoint');
      }
      for (const [a, b] of state.done) {
        if (a <= cp.prefix) cp.prefix = Math.max(cp.prefix, b);
        else for (let i = a; i < b; i++) cp.above.add(i);
      }
      cp.advance();
      cp.docsIndexed = state.docsIndexed;
      cp.docsFailed = state.docsFailed;
    }
    return cp;
  }

  isDone(batch: number): boolean {
    return batch < this.prefix || this.above.has(batch);
  }

  get batchesDone(): number {
    return this.prefix + this.above.size;
  }

  /** Marks a batch finished; persists when the write interval has passed (flush() persists for sure). */
  markDone(batch: number, indexed: number, failed: number): void {
    if (this.isDone(batch)) return;
    this.above.add(batch);
    this.advance();
    this.docsIndexed += indexed;
    this.docsFailed += failed;
    this.dirty = true;
    if (Date.now() - this.lastWrite >= this.writeIntervalMs) this.flush();
  }

  /** Writes the state now if anything changed since the last write. */
  flush(): void {
    if (!this.dirty) return;
    if (this.file) writeFileAtomic(this.file, JSON.stringify(this.state()) + '\n');
    this.dirty = false;
    this.lastWrite = Date.now();
  }

  state(): CheckpointState {
    const done: [number, number][] = this.prefix > 0 ? [[0, this.prefix]] : [];
    for (const b of [...this.above].sort((x, y) => x - y)) {
      const last = done[done.length - 1];
      if (last && last[1] === b) last[1] = b + 1;
      else done.push([b, b + 1]);
    }
    return { version: 1, ...this.identity, done, docsIndexed: this.docsIndexed, docsFailed: this.docsFailed };
  }

  private advance(): void {
    while (this.above.has(this.prefix)) this.above.delete(this.prefix++);
  }
}
