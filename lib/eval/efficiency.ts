import { Csr, csrRows } from '../sparse/csr';

/**
 * Efficiency of sparse representations (docs/METHOD.md §5): p(j) is the fraction of rows whose weight for
 * term j is non-zero; FLOPS = Σ_j p_q(j)·p_d(j) is the expected number of multiply-adds of one
 * query-document dot product; Σ_j p(j) is the mean number of non-zeros per row.
 */

/** p(j) for every column. Explicitly stored zeros do not count as active terms. */
export function activationRates(csr: Csr): Float64Array {
  const rows = csrRows(csr);
  const counts = new Float64Array(csr.numCols);
  for (let k = 0; k < csr.indices.length; k++) if (csr.values[k] !== 0) counts[csr.indices[k]]++;
  if (rows > 0) for (let j = 0; j < counts.length; j++) counts[j] /= rows;
  return counts;
}

export function flops(queries: Csr, docs: Csr): number {
  if (queries.numCols !== docs.numCols) throw new Error(`queries have ${queries.numCols} columns but documents have ${docs.numCols}`);
  const pq = activationRates(queries);
  const pd = activationRates(docs);
  let sum = 0;
  for (let j = 0; j < pq.length; j++) sum += pq[j] * pd[j];
  return sum;
}

/** Mean non-zeros per row (= Σ_j p(j)). */
export function meanNonZeros(csr: Csr): number {
  let nonZero = 0;
  for (let k = 0; k < csr.values.length; k++) if (csr.values[k] !== 0) nonZero++;
  const rows = csrRows(csr);
  return rows === 0 ? 0 : nonZero / rows;
}

export interface EfficiencyReport {
  flops: number;
  meanDocNonZeros: number;
  meanQueryNonZeros: number;
}

export function efficiency(queries: Csr, docs: Csr): EfficiencyReport {
  return { flops: flops(queries, docs), meanDocNonZeros: meanNonZeros(docs), meanQueryNonZeros: meanNonZeros(queries) };
}
