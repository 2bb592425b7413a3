/**
 * Rank 0 of a sharded encoding waits for the other shards before it merges. The ranks share nothing but
 * the filesystem the outputs are on (which a sharded run requires anyway), so rank 0 polls the shards'
 * progress records: each rank rewrites its record after every committed batch and marks it complete at the
 * end. No process group (lib/train/distributed.ts) is used: its barrier would need MASTER_ADDR/PORT and
 * time out after L0SPARSE_DIST_TIMEOUT_MS however long the slowest shard legitimately takes, whereas here
 * the timeout counts only time in which no shard made progress.
 */
import * as fs from 'fs';

import { readProgressRecord, requireSameRun } from './progress-record';
import type { EncodeRunIdentity } from './progress-record';

export interface AwaitedShard {
  rank: number;
  progressFile: string;
  /** What the shard's record must say it is (an older run's record with other settings does not count). */
  identity: EncodeRunIdentity;
}

export interface ShardWaitOptions {
  /** Fail when no awaited shard has made progress for this long (ms). Default 600000 (10 min). */
  stallTimeoutMs?: number;
  /** Time between looks (ms). Default 500. */
  pollMs?: number;
  /** Stops waiting; the call then resolves false. */
  signal?: AbortSignal;
}

/** One look at a shard: complete, or why not (for the error that names the missing ranks). */
export interface ShardState {
  rank: number;
  complete: boolean;
  /** Committed documents, or -1 when there is no usable record yet. */
  docs: number;
  /** Why the shard is not complete, e.g. "no progress record …" or "120 documents committed, not complete". */
  reason: string;
}

export function shardState(shard: AwaitedShard): ShardState {
  const { rank, progressFile } = shard;
  if (!fs.existsSync(progressFile)) return { rank, complete: false, docs: -1, reason: `no progress record ${progressFile}` };
  try {
    const record = readProgressRecord(progressFile);
    requireSameRun(progressFile, record.identity, shard.identity);
    const docs = record.committed.docs;
    return { rank, complete: record.complete, docs, reason: record.complete ? 'complete' : `${docs} documents committed, not complete` };
  } catch (e) {
    return { rank, complete: false, docs: -1, reason: (e as Error).message };
  }
}

/** "rank 1: no progress record …; rank 3: 40 documents committed, not complete". */
export function describeIncomplete(states: ShardState[]): string {
  return states.filter((s) => !s.complete).map((s) => `rank ${s.rank}: ${s.reason}`).join('; ');
}

/**
 * Resolves true when every shard's record says complete (for this run's identity), false when `signal`
 * stops the wait. Rejects, naming every incomplete rank and why, when no shard made progress (committed
 * documents, completion) for `stallTimeoutMs`.
 */
export async function waitForShards(shards: AwaitedShard[], opts: ShardWaitOptions = {}): Promise<boolean> {
  const stallMs = opts.stallTimeoutMs ?? 600_000;
  const pollMs = opts.pollMs ?? 500;
  let lastSeen = '';
  let lastProgressAt = Date.now();
  for (;;) {
    if (opts.signal?.aborted) return false;
    const states = shards.map(shardState);
    if (states.every((s) => s.complete)) return true;
    const seen = JSON.stringify(states.map((s) => [s.docs, s.complete]));
    if (seen !== lastSeen) {
      lastSeen = seen;
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt >= stallMs) {
      throw new Error(`waited ${Number((stallMs / 1000).toFixed(1))} s with no progress from the other shards: ${describeIncomplete(states)} ` +
        '(a rank failed or never started: start it, or rerun every rank with --resume)');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollMs);
      function done(): void {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      }
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  }
}
