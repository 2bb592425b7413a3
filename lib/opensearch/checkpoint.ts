/**
 * Resumable ingest: which bulk batches are finished (every doc indexed or recorded as failed). Batch b
 * covers doc offsets [b * batchSize, (b + 1) * batchSize) of the input, so the identity of the run
 * (input, index, field, batch size) is stored too and a mismatching checkpoint is refused rather than
 * silently skipping the wrong documents. Written atomically (temporary file + rename) after each batch.
 */
import * as fs from 'fs';

import { writeFileAtomic } from '../export/atomic-writer';

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
  private done = new Set<number>();
  private writes: Promise<void> = Promise.resolve();
  docsIndexed = 0;
  docsFailed = 0;

  private constructor(readonly file: string | null, readonly identity: CheckpointIdentity) {}

  /** Opens (or starts) the checkpoint at `file`; null keeps it in memory only. */
  static open(file: string | null, identity: CheckpointIdentity): Checkpoint {
    const cp = new Checkpoint(file, identity);
    if (file && fs.existsSync(file)) {
      const state = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointState;
      for (const k of ['input', 'index', 'field', 'batchSize'] as const) {
        if (state[k] !== identity[k])
          throw new Error(`checkpoint ${file} belongs to another run (${k}: ${JSON.stringify(state[k])} vs ${JSON.stringify(identity[k])}); ` +
            'delete it or pass another --checkpoint');
      }
      for (const [a, b] of state.done) for (let i = a; i < b; i++) cp.done.add(i);
      cp.docsIndexed = state.docsIndexed;
      cp.docsFailed = state.docsFailed;
    }
    return cp;
  }

  isDone(batch: number): boolean {
    return this.done.has(batch);
  }

  get batchesDone(): number {
    return this.done.size;
  }

  /** Marks a batch finished and persists; writes are serialised so the file is always a complete state. */
  markDone(batch: number, indexed: number, failed: number): Promise<void> {
    this.done.add(batch);
    this.docsIndexed += indexed;
    this.docsFailed += failed;
    const state = this.state();
    this.writes = this.writes.then(() => { if (this.file) writeFileAtomic(this.file, JSON.stringify(state) + '\n'); });
    return this.writes;
  }

  flush(): Promise<void> {
    return this.writes;
  }

  state(): CheckpointState {
    const sorted = [...this.done].sort((a, b) => a - b);
    const done: [number, number][] = [];
    for (const b of sorted) {
      const last = done[done.length - 1];
      if (last && last[1] === b) last[1] = b + 1;
      else done.push([b, b + 1]);
    }
    return { version: 1, ...this.identity, done, docsIndexed: this.docsIndexed, docsFailed: this.docsFailed };
  }
}
