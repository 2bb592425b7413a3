/**
 * The progress record of a corpus encoding: what a run is (its identity) and how far its outputs are
 * committed (documents, bytes of each output). It is rewritten atomically after every batch that has
 * reached the output files (and their fsync), so on restart everything beyond the recorded bytes is an
 * uncommitted tail to cut off, and everything before it is complete.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';

import { writeFileAtomic } from '../io';
import type { PruneSpec } from '../sparse/prune';

const RECORD_FORMAT = 'l0sparse-encode-progress';
const RECORD_VERSION = 1;

/**
 * Everything that decides which vectors a run writes and in which batches; a resume must match it exactly.
 * The bad-line policy is not part of it: a run stopped by a malformed line (policy 'fail') has committed
 * only windows before that line, which 'skip' forms the same way.
 */
export interface EncodeRunIdentity {
  /** Resolved corpus path, or the caller's name for an iterable input. */
  input: string;
  /** Architecture and a hash of config.json (the weights themselves are not hashed: too slow for large models). */
  model: string;
  maxLength: number;
  batchSize: number;
  batchTokens?: number | null;
  windowSize: number;
  activation: string;
  k: number | null;
  zeroSpecialTokens: boolean;
  prune: PruneSpec | null;
  dtype: string;
  csr: string | null;
  jsonl: string | null;
  /** Only in a shard of a sharded encoding: "rank/count" (lib/encode/shard-layout.ts). Absent means one process. */
  shard?: string;
}

export interface CommittedState {
  docs: number;
  batches: number;
  csrBytes: number;
  jsonlBytes: number;
  nnzTotal: number;
  nnzMin: number | null;
  nnzMax: number | null;
  /** Documents whose vector is empty (all weights zero or pruned away). */
  emptyVectors: number;
}

export interface ProgressRecord {
  format: typeof RECORD_FORMAT;
  version: typeof RECORD_VERSION;
  identity: EncodeRunIdentity;
  committed: CommittedState;
  complete: boolean;
  updatedAt: string;
}

export function emptyCommittedState(): CommittedState {
  return { docs: 0, batches: 0, csrBytes: 0, jsonlBytes: 0, nnzTotal: 0, nnzMin: null, nnzMax: null, emptyVectors: 0 };
}

/** "distilbert-<first 16 hex of sha256(config.json as loaded)>". */
export function modelFingerprint(architecture: string, rawConfig: Record<string, unknown>): string {
  return `${architecture}-${crypto.createHash('sha256').update(JSON.stringify(rawConfig)).digest('hex').slice(0, 16)}`;
}

export function writeProgressRecord(file: string, identity: EncodeRunIdentity, committed: CommittedState, complete: boolean): void {
  const record: ProgressRecord = {
    format: RECORD_FORMAT, version: RECORD_VERSION, identity, committed, complete, updatedAt: new Date().toISOString(),
  };
  writeFileAtomic(file, JSON.stringify(record, null, 1) + '\n');
}

export function readProgressRecord(file: string): ProgressRecord {
  let record: ProgressRecord;
  try {
    record = JSON.parse(fs.readFileSync(file, 'utf8')) as ProgressRecord;
  } catch (e) {
    throw new Error(`progress record ${file} is unreadable (${(e as Error).message}); start over with overwrite`);
  }
  if (record?.format !== RECORD_FORMAT || record.version !== RECORD_VERSION || typeof record.committed?.docs !== 'number' || !record.identity)
    throw new Error(`${file} is not an l0sparse encode progress record (version ${RECORD_VERSION})`);
  return record;
}

/** Throws naming the first setting that differs, so a resume never mixes vectors of two configurations. */
export function requireSameRun(file: string, recorded: EncodeRunIdentity, current: EncodeRunIdentity): void {
  // Keys of both: a shard's record (with `shard`) must not pass for a one-process run's, nor the other way.
  const keys = new Set([...Object.keys(recorded), ...Object.keys(current)] as (keyof EncodeRunIdentity)[]);
  for (const key of keys) {
    const a = JSON.stringify(recorded[key] ?? null);
    const b = JSON.stringify(current[key] ?? null);
    if (a !== b) {
      throw new Error(`${file} records a run with ${key} = ${a}, but this run has ${key} = ${b}: ` +
        'resume with the same settings, or start over with overwrite');
    }
  }
}
