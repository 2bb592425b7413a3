/**
 * BM25 as sparse vectors, so that the baseline's cost is measured with the same definitions and the same
 * index engine as the learned model: each document's vector holds the BM25 term weights
 * idf(t)·tf/(tf + k1·(1 − b + b·dl/avgdl)) (Lucene's BM25 without its 1-byte length norms), each query's
 * the count of each analysed term; their dot product is the BM25 score.
 */
import type { Term } from '../bm25/bm25-index';
import type { Csr } from '../sparse/csr';

export interface Bm25Vectors {
  docs: Csr;
  queries: Csr;
  vocabulary: number;
}

export function bm25Vectors(docTerms: readonly (readonly Term[])[], queryTerms: readonly (readonly Term[])[],
  params: { k1?: number; b?: number } = {}): Bm25Vectors {
  const k1 = params.k1 ?? 0.9;
  const b = params.b ?? 0.4;
  const ids = new Map<Term, number>();
  const id = (t: Term): number => {
    let i = ids.get(t);
    if (i === undefined) ids.set(t, i = ids.size);
    return i;
  };
  const counts = docTerms.map((terms) => {
    const m = new Map<number, number>();
    for (const t of terms) { const i = id(t); m.set(i, (m.get(i) ?? 0) + 1); }
    return m;
  });
  const df = new Map<number, number>();
  for (const m of counts) for (const i of m.keys()) df.set(i, (df.get(i) ?? 0) + 1);
  const n = docTerms.length;
  const avgdl = docTerms.reduce((s, t) => s + t.length, 0) / Math.max(1, n);
  const idf = (i: number) => Math.log(1 + (n - df.get(i)! + 0.5) / (df.get(i)! + 0.5));
  const docs = toCsr(counts.map((m, d) => {
    const norm = k1 * (1 - b + b * docTerms[d].length / avgdl);
    return new Map([...m].map(([i, tf]) => [i, idf(i) * tf / (tf + norm)]));
  }));
  const queries = toCsr(queryTerms.map((terms) => {
    const m = new Map<number, number>();
    // Terms the corpus lacks cannot match: they are left out (they would only widen the vocabulary).
    for (const t of terms) { const i = ids.get(t); if (i !== undefined) m.set(i, (m.get(i) ?? 0) + 1); }
    return m;
  }));
  const vocabulary = Math.max(1, ids.size);
  docs.numCols = vocabulary;
  queries.numCols = vocabulary;
  return { docs, queries, vocabulary };
}

function toCsr(rows: Map<number, number>[]): Csr {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((m, r) => { indptr[r + 1] = indptr[r] + m.size; });
  const indices = new Int32Array(indptr[rows.length]);
  const values = new Float32Array(indptr[rows.length]);
  rows.forEach((m, r) => {
    const sorted = [...m].sort((a, c) => a[0] - c[0]);
    sorted.forEach(([i, v], j) => { indices[indptr[r] + j] = i; values[indptr[r] + j] = v; });
  });
  return { indptr, indices, values, numCols: 0 };
}
