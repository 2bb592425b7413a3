/**
 * Shared pieces of the NativeTrainer tests: the committed sentence-transformers training fixture
 * (scripts/fixtures/make_train_fixtures.py → test/fixtures/train/st-splade-loss.json), the dropout-0 copy of
 * the tiny DistilBERT fixture it was made with, float64 reference formulas (docs/METHOD.md §3) written here from
 * scratch, and a tiny safetensors reader for comparing saved parameters.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import type { TrainBatch } from '../../lib/train/native-trainer';
import type { Csr } from '../../lib/sparse/csr';

export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

export interface StCase {
  objective: 'kl' | 'margin_mse';
  temperature?: number;
  activation: 'relu' | 'l0';
  threshold: number;
  stActivation: string;
  baseLoss: number;
  regularizerLoss: number;
  regularizerWeighted: number;
  loss: number;
  nnz: number[];
  gradNorm: number;
  gradNormBase: number;
  gradNormRegularizer: number;
  /** Total loss gradient norm of every parameter, by model.safetensors name. */
  paramGradNorms: Record<string, number>;
}

export interface TrainFixture {
  versions: Record<string, string>;
  lambda: number;
  groupSize: number;
  teacher: number[][];
  inputIds: number[][];
  attentionMask: number[][];
  queries: [number[], number[]][];
  cases: Record<string, StCase>;
}

export function readTrainFixture(): TrainFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'train', 'st-splade-loss.json'), 'utf8')) as TrainFixture;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `l0sparse-${prefix}-`));
}

/** A copy of test/fixtures/models/distilbert; with `dropout0` its dropout and attention_dropout are 0. */
export function distilbertCopy(dir: string, dropout0 = true): string {
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(FIXTURES, 'models', 'distilbert');
  fs.copyFileSync(path.join(src, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (dropout0) { config.dropout = 0; config.attention_dropout = 0; }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** Documents rows [from, to) of the fixture (row q*G + g) with the matching queries and teacher rows. */
export function fixtureBatch(fx: TrainFixture, opts: { fromQuery?: number; toQuery?: number; teacher?: boolean } = {}): TrainBatch {
  const G = fx.groupSize;
  const q0 = opts.fromQuery ?? 0;
  const q1 = opts.toQuery ?? fx.queries.length;
  const rows = fx.inputIds.slice(q0 * G, q1 * G);
  const masks = fx.attentionMask.slice(q0 * G, q1 * G);
  const seqLen = rows[0].length;
  const lengths = Int32Array.from(masks.map((m) => m.reduce((a, b) => a + b, 0)));
  return {
    docs: {
      inputIds: Int32Array.from(rows.flat()), attentionMask: Int32Array.from(masks.flat()),
      batchSize: rows.length, seqLen, lengths,
    },
    groupSize: G,
    queries: queryCsr(fx.queries.slice(q0, q1)),
    teacher: opts.teacher === false ? undefined : Float32Array.from(fx.teacher.slice(q0, q1).flat()),
  };
}

export function queryCsr(rows: [number[], number[]][], numCols = 30522): Csr {
  const indptr = [0];
  for (const [ids] of rows) indptr.push(indptr[indptr.length - 1] + ids.length);
  return {
    indptr: Int32Array.from(indptr),
    indices: Int32Array.from(rows.flatMap(([ids]) => ids)),
    values: Float32Array.from(rows.flatMap(([, v]) => v)),
    numCols,
  };
}

/** Dense [N][V] document vectors (float64 copies) from the model's inference path. */
export async function denseDocs(model: NativeMlmModel, batch: TrainBatch, activation: 'relu' | 'l0', k = 1): Promise<Float64Array[]> {
  const { inputIds, attentionMask, batchSize, seqLen } = batch.docs;
  const t = await model.encodeDense(inputIds, attentionMask, batchSize, seqLen, { activation, k });
  const V = t.shape[1];
  const data = t.data as Float32Array;
  return Array.from({ length: batchSize }, (_, i) => Float64Array.from(data.subarray(i * V, (i + 1) * V)));
}

// ---- float64 references of docs/METHOD.md §3, written independently of the native code ----

/** scores[q][n] = Σ_j query_q[j] · doc_n[j]. */
export function referenceScores(queries: [number[], number[]][], docs: Float64Array[]): number[][] {
  return queries.map(([ids, vals]) => docs.map((d) => ids.reduce((s, id, i) => s + Math.fround(vals[i]) * d[id], 0)));
}

export function groupOf(scores: number[][], G: number): number[][] {
  return scores.map((row, q) => row.slice(q * G, q * G + G));
}

function logSoftmax(x: number[]): number[] {
  const m = Math.max(...x);
  const z = Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return x.map((v) => v - m - z);
}

/** mean over queries of KL(softmax(t/T) || softmax(s/T)), times T². */
export function referenceKl(student: number[][], teacher: number[][], T: number): number {
  let sum = 0;
  student.forEach((s, q) => {
    const ls = logSoftmax(s.map((v) => v / T));
    const lt = logSoftmax(teacher[q].map((v) => v / T));
    sum += lt.reduce((acc, l, i) => acc + Math.exp(l) * (l - ls[i]), 0);
  });
  return (sum / student.length) * T * T;
}

/** mean over (q, negative) of ((s_pos - s_neg) - (t_pos - t_neg))². */
export function referenceMarginMse(student: number[][], teacher: number[][]): number {
  let sum = 0; let n = 0;
  student.forEach((s, q) => {
    for (let g = 1; g < s.length; g++) { sum += ((s[0] - s[g]) - (teacher[q][0] - teacher[q][g])) ** 2; n++; }
  });
  return sum / n;
}

/** Cross-entropy of each query over all N documents, target = its positive (column q*G). */
export function referenceInfoNce(scores: number[][], G: number, scale: number): number {
  return scores.reduce((acc, row, q) => acc - logSoftmax(row.map((v) => v * scale))[q * G], 0) / scores.length;
}

export function nnzOf(d: Float64Array): number {
  let n = 0;
  for (const v of d) if (v !== 0) n++;
  return n;
}

/**
 * FLOPS with the ℓ0 mask: Σ_s Σ_j ((1/Q) Σ_q M(d_{q,s}) |w_{q,s,j}|)², M(d) = [nnz(mask source d) > t];
 * `slots` = G (per slot, the paper) or 1 (one mean over all documents, sentence-transformers).
 * `maskFrom` gives the vectors whose nnz decide the mask (default: the regularized vectors themselves).
 */
export function referenceFlops(docs: Float64Array[], slots: number, t: number, maskFrom: Float64Array[] = docs): number {
  const N = docs.length; const V = docs[0].length; const Q = N / slots;
  const keep = maskFrom.map((d) => (nnzOf(d) > t ? 1 : 0));
  let loss = 0;
  for (let s = 0; s < slots; s++) {
    const mean = new Float64Array(V);
    for (let q = 0; q < Q; q++) {
      const n = q * slots + s;
      if (!keep[n]) continue;
      const d = docs[n];
      for (let j = 0; j < V; j++) mean[j] += Math.abs(d[j]) / Q;
    }
    for (let j = 0; j < V; j++) loss += mean[j] * mean[j];
  }
  return loss;
}

export function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
}

/** F32 tensors of a safetensors file by name (strict little reader; enough for comparing parameters). */
export function readSafetensors(file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const base = 8 + headerLength;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`${file}: ${name} is ${info.dtype}, expected F32`);
    const [a, b] = info.data_offsets;
    const copy = Buffer.from(bytes.subarray(base + a, base + b));
    out.set(name, { shape: info.shape, data: new Float32Array(copy.buffer, copy.byteOffset, (b - a) / 4) });
  }
  return out;
}
