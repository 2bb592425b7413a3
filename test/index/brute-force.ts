import type { Csr } from '../../lib/sparse/csr';

/** Every document with a positive dot product, best first: float32 score desc, then doc index asc. */
export function bruteForceRanking(docs: Csr, queries: Csr, q: number): { doc: number; score: number }[] {
  const query = new Map<number, number>();
  for (let j = queries.indptr[q]; j < queries.indptr[q + 1]; j++) if (queries.values[j] > 0) query.set(queries.indices[j], queries.values[j]);
  const out: { doc: number; score: number }[] = [];
  for (let d = 0; d + 1 < docs.indptr.length; d++) {
    let s = 0;
    let shared = false;
    for (let j = docs.indptr[d]; j < docs.indptr[d + 1]; j++) {
      const w = query.get(docs.indices[j]);
      if (w === undefined || docs.values[j] === 0) continue;
      s += w * docs.values[j];
      shared = true;
    }
    if (shared) out.push({ doc: d, score: Math.fround(s) });
  }
  return out.sort((a, b) => b.score - a.score || a.doc - b.doc);
}
