/**
 * Before a corpus encoding starts: its settings checked and filled in from the model, and its outputs
 * opened fresh or reopened for a resume (with the progress record checked against this run).
 */
import * as fs from 'fs';
import * as path from 'path';

import type { EncodeDtype } from './encode-dtype';
import type { SparseEncoder } from './sparse-encoder';
import type { ActivationName } from '../ops/sparse-head';
import { PruneSpec, pruneCsr } from '../sparse/prune';
import {
  CommittedState, EncodeRunIdentity, emptyCommittedState, modelFingerprint, readProgressRecord, requireSameRun, writeProgressRecord,
} from './progress-record';
import { OutputPaths, VectorOutputs } from './vector-outputs';

/** 'create': refuse to touch existing outputs; 'overwrite': start over; 'resume': continue a recorded run (or start one). */
export type EncodeMode = 'create' | 'overwrite' | 'resume';

export interface EncodeSettingsInput {
  maxLength?: number;
  batchSize?: number;
  /** Cap on tokens per native call (lengthSortedBatches); default none. */
  batchTokens?: number;
  windowSize?: number;
  activation?: ActivationName;
  k?: number;
  zeroSpecialTokens?: boolean;
  prune?: PruneSpec | null;
  /** 'auto' | 'float32' | 'bfloat16' (lib/encode/encode-dtype.ts); resolved to a concrete dtype, which the run record pins. */
  dtype?: EncodeDtype;
  onBadLine?: 'fail' | 'skip';
}

export interface EncodeSettings {
  maxLength: number;
  batchSize: number;
  batchTokens: number | undefined;
  windowSize: number;
  activation: ActivationName;
  /** Only for the l0 activation. */
  k: number | undefined;
  zeroSpecialTokens: boolean;
  prune: PruneSpec | null;
  dtype: 'float32' | 'bfloat16';
  onBadLine: 'fail' | 'skip';
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Fills defaults from the encoder and rejects bad values before any file is opened. */
export async function resolveSettings(encoder: SparseEncoder, opts: EncodeSettingsInput): Promise<EncodeSettings> {
  const maxLength = opts.maxLength ?? encoder.maxLength;
  const maxPositions = encoder.config.maxPositions;
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > maxPositions)
    throw new RangeError(`maxLength must be an integer in [2, ${maxPositions}] (the model's max_position_embeddings), got ${maxLength}`);
  const batchSize = positiveInteger(opts.batchSize ?? 32, 'batchSize');
  const windowSize = positiveInteger(opts.windowSize ?? 2048, 'windowSize');
  const batchTokens = opts.batchTokens === undefined ? undefined : positiveInteger(opts.batchTokens, 'batchTokens');
  const activation = opts.activation ?? encoder.activation;
  if (activation !== 'relu' && activation !== 'l0') throw new RangeError(`activation must be 'relu' or 'l0', got ${JSON.stringify(activation)}`);
  const k = activation === 'l0' ? opts.k ?? (encoder.k > 0 ? encoder.k : 1) : undefined;
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 3)) throw new RangeError(`k must be an integer in 1..3, got ${k}`);
  const dtype = encoder.resolveDtype(opts.dtype);
  const onBadLine = opts.onBadLine ?? 'fail';
  if (onBadLine !== 'fail' && onBadLine !== 'skip') throw new RangeError(`onBadLine must be 'fail' or 'skip', got ${JSON.stringify(onBadLine)}`);
  const prune = opts.prune ?? null;
  if (prune) {
    // The native pruner is the one judge of a valid spec; an empty batch makes it say so before any work.
    await pruneCsr({ indptr: new Int32Array(1), indices: new Int32Array(0), values: new Float32Array(0), numCols: encoder.vocabSize }, prune);
  }
  return { maxLength, batchSize, batchTokens, windowSize, activation, k, zeroSpecialTokens: opts.zeroSpecialTokens ?? true, prune, dtype, onBadLine };
}

export function runIdentity(encoder: SparseEncoder, input: string, settings: EncodeSettings, outputs: OutputPaths): EncodeRunIdentity {
  return {
    input,
    model: modelFingerprint(encoder.config.architecture, encoder.config.raw),
    maxLength: settings.maxLength,
    batchSize: settings.batchSize,
    // Absent from records of runs before the option (compared as null): such runs resume unchanged.
    batchTokens: settings.batchTokens ?? null,
    windowSize: settings.windowSize,
    activation: settings.activation,
    k: settings.k ?? null,
    zeroSpecialTokens: settings.zeroSpecialTokens,
    prune: settings.prune,
    dtype: settings.dtype,
    csr: outputs.csr ?? null,
    jsonl: outputs.jsonl ?? null,
  };
}

/**
 * The requested outputs as absolute paths, checked: at least one, and not the same file twice. `who` names the
 * caller in the errors.
 */
export function resolveOutputPaths(outputs: { csr?: string; jsonl?: string } | undefined, who: string, optsName: string): OutputPaths {
  if (typeof outputs !== 'object' || outputs === null) throw new TypeError(`${optsName} needs opts.outputs {csr?, jsonl?}`);
  const paths: OutputPaths = {
    csr: outputs.csr ? path.resolve(outputs.csr) : undefined,
    jsonl: outputs.jsonl ? path.resolve(outputs.jsonl) : undefined,
  };
  if (!paths.csr && !paths.jsonl) throw new RangeError(`${who} needs an output: outputs.csr and/or outputs.jsonl`);
  if (paths.csr && paths.csr === paths.jsonl) throw new RangeError(`the CSR and JSONL outputs are the same file ${paths.csr}`);
  return paths;
}

/** The default place of the progress record: beside the first output. */
export function defaultProgressFile(outputs: OutputPaths): string {
  return `${outputs.csr ?? outputs.jsonl}.progress.json`;
}

export interface OpenedRun {
  outputs: VectorOutputs | null;
  committed: CommittedState;
  /** The record says the run finished: nothing is left to encode. */
  complete: boolean;
}

/**
 * Opens the outputs for this run. A fresh run writes its (empty) progress record before creating the
 * outputs, so no output can exist without a record that says how much of it is committed.
 */
export async function openRun(progressFile: string, identity: EncodeRunIdentity, paths: OutputPaths, vocab: readonly string[],
  mode: EncodeMode): Promise<OpenedRun> {
  if (mode !== 'create' && mode !== 'overwrite' && mode !== 'resume') throw new RangeError(`mode must be 'create', 'overwrite' or 'resume', got ${JSON.stringify(mode)}`);
  const existing = [paths.csr, paths.jsonl, progressFile].filter((f): f is string => !!f && fs.existsSync(f));
  const fresh = (overwrite: boolean): OpenedRun => {
    for (const file of [paths.csr, paths.jsonl, progressFile]) if (file) fs.mkdirSync(path.dirname(file), { recursive: true });
    writeProgressRecord(progressFile, identity, emptyCommittedState(), false);
    return { outputs: VectorOutputs.create(paths, vocab, overwrite), committed: emptyCommittedState(), complete: false };
  };
  if (mode === 'overwrite') return fresh(true);
  if (mode === 'create') {
    if (existing.length > 0) throw new Error(`${existing[0]} exists: resume the run (mode 'resume', CLI --resume) or start over (mode 'overwrite', CLI --overwrite)`);
    return fresh(false);
  }
  if (!fs.existsSync(progressFile)) {
    if (existing.length > 0) {
      throw new Error(`${existing[0]} exists but there is no progress record ${progressFile}, so which documents are complete is unknown: ` +
        'start over with overwrite');
    }
    return fresh(false);
  }
  const record = readProgressRecord(progressFile);
  requireSameRun(progressFile, record.identity, identity);
  if (record.complete) return { outputs: null, committed: record.committed, complete: true };
  // Nothing was committed: the outputs may be half created, so create them again.
  if (record.committed.docs === 0) return fresh(true);
  const outputs = await VectorOutputs.resume(paths, vocab, record.committed.docs, record.committed);
  return { outputs, committed: { ...record.committed }, complete: false };
}
