/**
 * The arithmetic of document encoding: 'float32', 'bfloat16' (weights and activations in bfloat16, float32
 * accumulation inside the GEMMs, the fused sparse head in bfloat16; vectors returned as float32), or 'auto' =
 * bfloat16 where it is fast (a GPU, or a CPU with native bfloat16 arithmetic) and float32 elsewhere.
 *
 * Default: L0SPARSE_ENCODE_DTYPE, else DEFAULT_ENCODE_DTYPE. That default stays 'float32' until bfloat16 passes
 * the retrieval-quality check on trained models (scripts/bench/p3-quality.js: nDCG@10 and R@100 on SciFact
 * test within 0.002 of float32 and >= 99% top-10 overlap); results: README "Benchmarks — P3 encoding" (passes on
 * a 6x768 model, fails on the demo's D = 64 model: quality depends on the model, so float32 stays the default).
 */
import { cpuHasNativeBf16 } from '../native/kernels';

export type EncodeDtype = 'auto' | 'float32' | 'bfloat16';
export type ResolvedEncodeDtype = 'float32' | 'bfloat16';

export const DEFAULT_ENCODE_DTYPE: EncodeDtype = 'float32';

const NAMES: readonly string[] = ['auto', 'float32', 'bfloat16'];

export function parseEncodeDtype(value: unknown, what = 'dtype'): EncodeDtype {
  if (typeof value !== 'string' || !NAMES.includes(value)) {
    throw new RangeError(`${what} must be 'auto', 'float32' or 'bfloat16', got ${JSON.stringify(value)}`);
  }
  return value as EncodeDtype;
}

/** The dtype asked for: the option, else L0SPARSE_ENCODE_DTYPE, else the default. */
export function requestedEncodeDtype(option: unknown): EncodeDtype {
  if (option !== undefined) return parseEncodeDtype(option);
  const env = process.env.L0SPARSE_ENCODE_DTYPE;
  if (env !== undefined && env !== '') return parseEncodeDtype(env, 'L0SPARSE_ENCODE_DTYPE');
  return DEFAULT_ENCODE_DTYPE;
}

/** 'auto' made concrete for a model on `device` ('cpu' or 'cuda:N'). */
export function resolveEncodeDtype(option: unknown, device: string): ResolvedEncodeDtype {
  const requested = requestedEncodeDtype(option);
  if (requested !== 'auto') return requested;
  return device.startsWith('cuda') || cpuHasNativeBf16() ? 'bfloat16' : 'float32';
}
