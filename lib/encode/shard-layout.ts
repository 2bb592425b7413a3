/**
 * How a sharded corpus encoding divides the work and where each rank writes (docs/DISTRIBUTED.md,
 * "Sharded corpus encoding").
 *
 * The unit of work is the encoding window (`windowSize` consecutive documents of the input, after skipped
 * lines): window w belongs to rank w mod N. Whole windows, not single documents, because a window is what
 * the encoder sorts by length and cuts into batches: a rank that encodes whole windows forms exactly the
 * batches a one-process run forms, so every vector is bit-identical (padding and batch shapes unchanged)
 * and the merge can put the batches back in one-process order. Round-robin rather than contiguous ranges
 * because it needs no document count up front (every rank streams the corpus once) and spreads a corpus
 * sorted by length or source evenly over the ranks.
 *
 * Files: beside the final output `<out>`, the folder `<out>.shards/` holds per rank
 * `rank-RRRRR-of-NNNNN.csr` (and `.jsonl` when JSONL is written) and that shard's own progress record
 * `rank-RRRRR-of-NNNNN.csr.progress.json`, so each shard is an ordinary resumable encoding.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { EncodeRunIdentity } from './progress-record';
import type { OutputPaths } from './vector-outputs';

export interface ShardSpec {
  /** This process's shard, 0 .. count - 1. */
  rank: number;
  /** Number of shards (ranks). */
  count: number;
}

export function checkShard(shard: ShardSpec): ShardSpec {
  if (!Number.isInteger(shard.count) || shard.count < 1) throw new RangeError(`shard count must be a positive integer, got ${shard.count}`);
  if (!Number.isInteger(shard.rank) || shard.rank < 0 || shard.rank >= shard.count)
    throw new RangeError(`shard rank must be an integer in [0, ${shard.count}), got ${shard.rank}`);
  return shard;
}

/** The rank that encodes window `windowIndex` (0-based) when there are `count` shards. */
export function windowOwner(windowIndex: number, count: number): number {
  return windowIndex % count;
}

/** "rank-00003-of-00008". */
export function shardName(shard: ShardSpec): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `rank-${pad(shard.rank)}-of-${pad(shard.count)}`;
}

/** `<first output>.shards`, beside the final outputs. */
export function shardDirectory(final: OutputPaths): string {
  const base = final.csr ?? final.jsonl;
  if (!base) throw new RangeError('a sharded encoding needs an output: outputs.csr and/or outputs.jsonl');
  return `${base}.shards`;
}

/** The shard's own outputs (the same kinds as the final outputs). */
export function shardOutputPaths(final: OutputPaths, shard: ShardSpec): OutputPaths {
  const dir = shardDirectory(final);
  const name = shardName(shard);
  return {
    csr: final.csr ? path.join(dir, `${name}.csr`) : undefined,
    jsonl: final.jsonl ? path.join(dir, `${name}.jsonl`) : undefined,
  };
}

/** The shard's progress record (the encoder's default place: beside its first output). */
export function shardProgressFile(final: OutputPaths, shard: ShardSpec): string {
  const own = shardOutputPaths(final, shard);
  return `${own.csr ?? own.jsonl}.progress.json`;
}

/** The label a shard's progress record carries in its identity, e.g. "1/4". */
export function shardLabel(shard: ShardSpec): string {
  return `${shard.rank}/${shard.count}`;
}

/** What a shard's progress record must say: the final run's identity with the shard's own outputs. */
export function shardIdentity(final: EncodeRunIdentity, finalPaths: OutputPaths, shard: ShardSpec): EncodeRunIdentity {
  const own = shardOutputPaths(finalPaths, shard);
  return { ...final, csr: own.csr ?? null, jsonl: own.jsonl ?? null, shard: shardLabel(shard) };
}

/** Every file of shard `shard` (outputs and progress record), whether or not it exists. */
export function shardFiles(final: OutputPaths, shard: ShardSpec): string[] {
  const own = shardOutputPaths(final, shard);
  return [own.csr, own.jsonl, shardProgressFile(final, shard)].filter((f): f is string => !!f);
}

/** The shard counts N of the `rank-*-of-N` files in the shard folder (for a merge that is not told N). */
export function shardCountsOnDisk(final: OutputPaths): number[] {
  const dir = shardDirectory(final);
  if (!fs.existsSync(dir)) return [];
  const counts = new Set<number>();
  for (const name of fs.readdirSync(dir)) {
    const m = /^rank-\d{5}-of-(\d{5})\./.exec(name);
    if (m) counts.add(Number(m[1]));
  }
  return [...counts].sort((a, b) => a - b);
}

/** Removes the files of all `count` shards, then the shard folder if nothing else is left in it. */
export function removeShards(final: OutputPaths, count: number): void {
  for (let rank = 0; rank < count; rank++) for (const file of shardFiles(final, { rank, count })) fs.rmSync(file, { force: true });
  removeFolderIfEmpty(shardDirectory(final));
}

/**
 * Removes every shard file of any count (and temp files the encoder left): before a local `--overwrite`
 * launch, so that no rank can mistake a stale complete shard of an earlier run for one of this run.
 */
export function removeAllShards(final: OutputPaths): void {
  const dir = shardDirectory(final);
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    if (/^\.?rank-\d{5}-of-\d{5}\./.test(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  removeFolderIfEmpty(dir);
}

function removeFolderIfEmpty(dir: string): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}
