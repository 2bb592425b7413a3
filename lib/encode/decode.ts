import { csrRows } from '../sparse/csr';
import type { Csr } from '../sparse/csr';

/**
 * Row `row` of a CSR batch as [token, weight] pairs, heaviest first (ties: lower token id first), the
 * readable form sentence-transformers' decode() gives. Zero weights are left out.
 */
export function decodeRow(vectors: Csr, row: number, idToToken: (id: number) => string, topK?: number): [string, number][] {
  const rows = csrRows(vectors);
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`row ${row} is outside the batch of ${rows} vectors`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new RangeError(`topK must be a positive integer, got ${topK}`);
  const pairs: [number, number][] = [];
  for (let j = vectors.indptr[row]; j < vectors.indptr[row + 1]; j++) {
    if (vectors.values[j] !== 0) pairs.push([vectors.indices[j], vectors.values[j]]);
  }
  pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return pairs.slice(0, topK ?? pairs.length).map(([id, w]) => [idToToken(id), w]);
}
