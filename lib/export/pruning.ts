/**
 * Ingest-time pruning of one document vector, with the four prune types OpenSearch's sparse_encoding
 * processor offers (METHOD.md §6). Implemented here on plain arrays because no native pruneCsr exists in
 * lib/sparse yet; when it lands, ingest can call it on whole batches instead.
 *
 *  - top_k      keep the k largest weights (ties broken by lower token id)
 *  - max_ratio  keep w >= ratio * max(w)
 *  - alpha_mass keep the largest weights while their running sum <= ratio * sum(w)
 *  - abs_value  keep w >= ratio
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
      if (!(r >= 0 && r <= 1)) throw new RangeError(`${p.type} needs a ratio in [0, 1], got ${r}`);
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
  let keep: (i: number) => boolean;
  if (p.type === 'max_ratio') {
    let max = 0;
    for (const v of values) max = Math.max(max, v);
    keep = (i) => values[i] >= p.ratio * max;
  } else if (p.type === 'abs_value') {
    keep = (i) => values[i] >= p.ratio;
  } else {
    // Both remaining types look at weights from largest to smallest.
    const order = [...values.keys()].sort((a, b) => values[b] - values[a] || indices[a] - indices[b]);
    const kept = new Uint8Array(n);
    if (p.type === 'top_k') {
      for (let j = 0; j < Math.min(p.ratio, n); j++) kept[order[j]] = 1;
    } else {
      let total = 0;
      for (const v of values) total += v;
      const budget = p.ratio * total;
      let running = 0;
      for (const i of order) {
        running += values[i];
        if (running > budget * (1 + 1e-12)) break;
        kept[i] = 1;
      }
    }
    keep = (i) => kept[i] === 1;
  }
  const outI: number[] = [];
  const outV: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) { outI.push(indices[i]); outV.push(values[i]); }
  return { indices: outI, values: outV };
}
