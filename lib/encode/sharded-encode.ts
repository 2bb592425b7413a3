/**
 * One rank of a sharded corpus encoding (docs/DISTRIBUTED.md, "Sharded corpus encoding"): the rank encodes
 * its windows into its own shard files (an ordinary resumable encodeCorpus run, lib/encode/shard-layout.ts);
 * rank 0 then waits until every shard's progress record says complete (shard-wait.ts) and merges the
 * shards into the final outputs (merge-shards.ts). A rerun with mode 'resume' continues every shard where
 * it stopped and merges again; once the final record says complete, nothing is left to do.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { SparseEncoder } from './sparse-encoder';
import { resolveCorpusFile } from './corpus-input';
import { EncodeCorpusOptions, EncodeCorpusReport, encodeCorpus } from './encode-corpus';
import { MergeShardsReport, mergeShards } from './merge-shards';
import { EncodeRunIdentity, readProgressRecord, requireSameRun } from './progress-record';
import { EncodeSettings, EncodeSettingsInput, defaultProgressFile, resolveOutputPaths, resolveSettings, runIdentity } from './run-setup';
import { ShardSpec, checkShard, shardIdentity, shardOutputPaths, shardProgressFile } from './shard-layout';
import { describeIncomplete, shardState, waitForShards } from './shard-wait';
import type { OutputPaths } from './vector-outputs';

export interface ShardedEncodeOptions extends Omit<EncodeCorpusOptions, 'shard' | 'inputName' | 'totalDocs'> {
  /** This process's rank and the number of ranks. */
  shard: ShardSpec;
  /** Keep the shard files after a verified merge (rank 0). Default false. */
  keepShards?: boolean;
  /** Rank 0 fails when, while it waits, no other shard made progress for this long (ms). Default 600000. */
  shardWaitMs?: number;
  /** How often rank 0 looks at the other shards' progress records (ms). Default 500. */
  shardPollMs?: number;
  /** Rank 0's notes on waiting and merging (one line each). Default: none. */
  log?: (message: string) => void;
}

export interface ShardedEncodeReport {
  shard: ShardSpec;
  /** This rank's own encoding; null when the final outputs were already complete. */
  encoded: EncodeCorpusReport | null;
  /** Rank 0's merge; null on other ranks, when stopped, or when already complete. */
  merged: MergeShardsReport | null;
  /** The final outputs are complete (rank 0 after its merge, or any rank that found them complete). */
  complete: boolean;
  /** The final outputs were complete before this call. */
  alreadyComplete: boolean;
  outputs: { csr: string | null; jsonl: string | null; progress: string };
}

/**
 * The device of one rank: with 'cuda' (no index) the ranks of a machine spread over its GPUs, rank LOCAL_RANK on
 * cuda:(LOCAL_RANK mod GPU count); 'cpu', 'cuda:N' and no device are used as given. Without a visible GPU 'cuda'
 * stays as it is, so loading the model fails with the addon's explanation. The device is not part of the run's
 * identity: shards encoded on different devices merge (their vectors differ only in float rounding).
 */
export function shardDevice(device: string | undefined, localRank: number, cudaDevices: number): string | undefined {
  if (device !== 'cuda' || cudaDevices < 1) return device;
  return `cuda:${localRank % cudaDevices}`;
}

/** The final outputs, their progress record and the identity a one-process run with these settings records. */
export interface FinalRun {
  corpusFile: string;
  outputs: OutputPaths;
  progressFile: string;
  identity: EncodeRunIdentity;
  settings: EncodeSettings;
}

export async function finalRun(encoder: SparseEncoder, corpus: string, opts: EncodeSettingsInput & { outputs: OutputPaths; progressFile?: string }):
  Promise<FinalRun> {
  const outputs = resolveOutputPaths(opts?.outputs, 'encodeCorpusSharded', 'a sharded encoding');
  const corpusFile = resolveCorpusFile(corpus);
  const settings = await resolveSettings(encoder, opts);
  const progressFile = path.resolve(opts.progressFile ?? defaultProgressFile(outputs));
  return { corpusFile, outputs, progressFile, identity: runIdentity(encoder, corpusFile, settings, outputs), settings };
}

/**
 * Whether the final outputs are already complete for this run. A final record of an unfinished one-process
 * run is refused: the shards would not continue it.
 */
function finalState(run: FinalRun, mode: 'create' | 'overwrite' | 'resume'): 'complete' | 'absent' {
  const existing = [run.outputs.csr, run.outputs.jsonl, run.progressFile].filter((f): f is string => !!f && fs.existsSync(f));
  if (mode === 'overwrite' || existing.length === 0) return 'absent';
  if (mode === 'create') throw new Error(`${existing[0]} exists: resume the run (mode 'resume', CLI --resume) or start over (mode 'overwrite', CLI --overwrite)`);
  if (!fs.existsSync(run.progressFile)) return 'absent';  // outputs of a merge killed before its record: merged again
  const record = readProgressRecord(run.progressFile);
  requireSameRun(run.progressFile, record.identity, run.identity);
  if (!record.complete) {
    throw new Error(`${run.progressFile} records an unfinished one-process run: resume it without sharding, or start over with overwrite`);
  }
  return 'complete';
}

/**
 * Encodes this rank's shard and, on rank 0, waits for the others and merges; see the module comment. The
 * corpus must be a file (every rank reads it, and rank 0 reads it again to verify the merge). With mode
 * 'overwrite' each rank starts its own shard over; whoever starts the ranks must remove the shards of an
 * earlier run first (removeAllShards), or rank 0 could take another rank's stale complete shard.
 */
export async function encodeCorpusSharded(encoder: SparseEncoder, corpus: string, opts: ShardedEncodeOptions): Promise<ShardedEncodeReport> {
  if (typeof corpus !== 'string') throw new TypeError('a sharded encoding reads a corpus file (every rank reads it): give its path or BEIR folder');
  const shard = checkShard(opts.shard);
  const mode = opts.mode ?? 'create';
  const run = await finalRun(encoder, corpus, opts);
  const result = (encoded: EncodeCorpusReport | null, merged: MergeShardsReport | null, complete: boolean, alreadyComplete = false): ShardedEncodeReport => ({
    shard, encoded, merged, complete, alreadyComplete,
    outputs: { csr: run.outputs.csr ?? null, jsonl: run.outputs.jsonl ?? null, progress: run.progressFile },
  });
  if (finalState(run, mode) === 'complete') return result(null, null, true, true);
  // A stale final record must not outlive the outputs it describes while they are being redone.
  if (mode === 'overwrite' && shard.rank === 0) fs.rmSync(run.progressFile, { force: true });

  const { keepShards, shardWaitMs, shardPollMs, log, ...encodeOptions } = opts;
  const encoded = await encodeCorpus(encoder, run.corpusFile, {
    ...encodeOptions, shard, mode, outputs: shardOutputPaths(run.outputs, shard), progressFile: undefined,
    // Every rank reads every line; rank 0 alone reports the malformed ones.
    warn: shard.rank === 0 ? opts.warn : () => undefined,
  });
  if (!encoded.complete || shard.rank !== 0) return result(encoded, null, false);

  const others = Array.from({ length: shard.count }, (_, rank) => ({ rank, count: shard.count })).filter((s) => s.rank !== 0).map((s) => ({
    rank: s.rank, progressFile: shardProgressFile(run.outputs, s), identity: shardIdentity(run.identity, run.outputs, s),
  }));
  const waitingFor = others.map(shardState).filter((s) => !s.complete);
  if (waitingFor.length > 0) log?.(`shard 0 complete; waiting for ${describeIncomplete(waitingFor)}`);
  const allDone = await waitForShards(others, { stallTimeoutMs: shardWaitMs, pollMs: shardPollMs, signal: opts.signal });
  if (!allDone) return result(encoded, null, false);
  log?.(`merging ${shard.count} shards into ${[run.outputs.csr, run.outputs.jsonl].filter(Boolean).join(' and ')}`);
  const merged = await mergeShards(run.corpusFile, {
    outputs: run.outputs, progressFile: run.progressFile, identity: run.identity, count: shard.count, onBadLine: run.settings.onBadLine, keepShards,
  });
  return result(encoded, merged, true);
}
