/**
 * Ingest-time pruning of one document vector, with the four prune types OpenSearch's sparse_encoding
 * processor offers (docs/METHOD.md §6):
 *
 *  - top_k      keep the k largest weights (equal weights: the smaller token id wins)
 *  - max_ratio  keep w >= ratio * max(w)                                   ratio in [0, 1)
 *  - alpha_mass from the largest weight down, keep while the running sum (this one included)
 *               <= alpha * sum(w)                                          alpha in [0, 1)
 *  - abs_value  keep w >= threshold                                        threshold >= 0
 *
 * The arithmetic is float32 like OpenSearch's PruneUtils and identical to the native prune_row in
 * native/index/prune.cc (same ranges, same rounding), so the TS path and the native pruneCsr keep the
 * same entries. It runs per row here because the exporters drop bad weights and unrepresentable keys
 * first, and the native function only accepts rows that are already clean.
 */
export type PruneType = 'none' | 'top_k' | 'max_ratio' | 'alpha_mass' | 'abs_value';
export const PRUNE_TYPES: readonly PruneType[] = ['none', 'top_k', 'max_ratio', 'alpha_mass', 'abs_value'];

export interface PruneOptions {
  type: PruneType;
  /** k for top_k; the ratio or threshold for the others. */
  ratio: number;
}

/** Throws a RangeError for parameters OpenSearch would also refuse (or that make no sense). */
export function validatePruneOptions(p: PruneOptions): void {
  if (!PRUNE_TYPES.includes(p.type)) throw new RangeError(`unknown prune type '${p.type}' (one of ${PRUNE_TYPES.join(', ')})`);
  const r = p.ratio;
  switch (p.type) {
    case 'none': return;
    case 'top_k':
      if (!Number.isInteger(r) || r < 1) throw new RangeError(`top_k needs a positive integer k, got ${r}`);
      return;
    case 'max_ratio':
    case 'alpha_mass':
      if (!(r >= 0 && r < 1)) throw new RangeError(`${p.type} needs a ratio in [0, 1), got ${r}`);
      return;
    case 'abs_value':
      if (!(Number.isFinite(r) && r >= 0)) throw new RangeError(`abs_value needs a finite threshold >= 0, got ${r}`);
  }
}

/**
 * Prunes one vector given as parallel arrays (weights assumed finite and > 0). Returns the kept
 * entries in their original order.
 */
export function pruneVector(indices: number[], values: number[], p: PruneOptions): { indices: number[]; values: number[] } {
  const n = values.length;
  if (p.type === 'none' || n === 0) return { indices, values };
  const f = Math.fround;
  const keep = new Uint8Array(n);
  const byWeightDesc = () => [...values.keys()].sort((a, b) => values[b] - values[a] || indices[a] - indices[b]);
  if (p.type === 'top_k') {
    if (n <= p.ratio) keep.fill(1);
    else for (const i of byWeightDesc().slice(0, p.ratio)) keep[i] = 1;
  } else if (p.type === 'max_ratio' || p.type === 'abs_value') {
    let max = 0;
    for (const v of values) max = Math.max(max, f(v));
    const cut = p.type === 'max_ratio' ? f(f(p.ratio) * max) : f(p.ratio);
    for (let i = 0; i < n; i++) keep[i] = f(values[i]) >= cut ? 1 : 0;
  } else {
    let total = 0; // summed in double, then rounded to float, as OpenSearch does
    for (const v of values) total += f(v);
    const budget = f(f(p.ratio) * f(total));
    let running = 0;
    for (const i of byWeightDesc()) {
      running = f(running + f(values[i]));
      if (!(running <= budget)) break;
      keep[i] = 1;
    }
  }
  const outI: number[] = [];
  const outV: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) { outI.push(indices[i]); outV.push(values[i]); }
  return { indices: outI, values: outV };
}
