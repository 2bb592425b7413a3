/**
 * Pruning of sparse vectors with OpenSearch's four ingest definitions (docs/METHOD.md §6), computed natively
 * row by row in float arithmetic as OpenSearch's PruneUtils does:
 *   top_k      keep the k largest weights (equal weights: the smaller column wins)
 *   max_ratio  keep w >= value · max(w)            value in [0, 1)
 *   alpha_mass keep the largest weights while their running sum <= value · total   value in [0, 1)
 *   abs_value  keep w >= value                     value >= 0
 * Weights must be finite and > 0. Kept entries stay in column order; rows may become empty.
 */
import { callAsync } from '../native/loader';
import type { Csr } from './csr';

export type PruneType = 'top_k' | 'max_ratio' | 'alpha_mass' | 'abs_value';

export interface PruneSpec {
  type: PruneType;
  value: number;
}

declare module '../native/loader' {
  interface NativeAddon {
    pruneCsr(csr: Csr, type: string, value: number): Promise<Csr>;
  }
}

export function pruneCsr(csr: Csr, spec: PruneSpec): Promise<Csr> {
  return callAsync((native) => native.pruneCsr(csr, spec.type, spec.value));
}

export const PRUNE_TYPES: readonly PruneType[] = ['top_k', 'max_ratio', 'alpha_mass', 'abs_value'];

/**
 * Checks a spec by the native rules (the one implementation of them) without pruning anything, so a job
 * can refuse bad options before it opens its input. Throws the native RangeError.
 */
export async function checkPruneSpec(spec: PruneSpec): Promise<void> {
  const empty: Csr = { indptr: new Int32Array(1), indices: new Int32Array(0), values: new Float32Array(0), numCols: 1 };
  await pruneCsr(empty, spec);
}

/** Parses "top_k:64" / "alpha_mass=0.9" (CLI style). */
export function parsePruneSpec(text: string): PruneSpec {
  const m = /^([a-z_]+)[:=]([-+0-9.eE]+)$/.exec(text.trim());
  if (!m || !(PRUNE_TYPES as readonly string[]).includes(m[1]) || !Number.isFinite(Number(m[2])))
    throw new RangeError(`prune spec '${text}' must look like <${PRUNE_TYPES.join('|')}>:<number>`);
  return { type: m[1] as PruneType, value: Number(m[2]) };
}
