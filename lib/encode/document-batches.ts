/**
 * Length-sorted batching: documents of similar length share a batch, so little compute goes to padding.
 * Results are put back in input order by CsrAssembler.
 */
import type { Csr } from '../sparse/csr';

/**
 * Batches of input positions, longest documents first, each at most batchSize documents and, with maxTokens, at
 * most maxTokens tokens (sum of lengths; a longer single document makes a batch of its own). The native encoder
 * packs documents without padding, so its cost follows tokens: a token budget gives short documents big batches
 * and long ones small batches at one memory bound.
 */
export function lengthSortedBatches(lengths: readonly number[], batchSize: number, maxTokens?: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new RangeError(`batchTokens must be a positive integer, got ${maxTokens}`);
  }
  // Stable on ties (sort is stable in ES2019+), so equal-length documents keep their input order.
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a]);
  const batches: number[][] = [];
  let batch: number[] = [];
  let tokens = 0;
  for (const p of order) {
    if (batch.length > 0 && (batch.length === batchSize || (maxTokens !== undefined && tokens + lengths[p] > maxTokens))) {
      batches.push(batch);
      batch = [];
      tokens = 0;
    }
    batch.push(p);
    tokens += lengths[p];
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Collects CSR rows computed out of order and assembles them in input order. */
export class CsrAssembler {
  private readonly rowIndices: (Int32Array | undefined)[];
  private readonly rowValues: (Float32Array | undefined)[];

  constructor(readonly numRows: number, readonly numCols: number) {
    this.rowIndices = new Array<Int32Array | undefined>(numRows);
    this.rowValues = new Array<Float32Array | undefined>(numRows);
  }

  /** Stores row r of `batch` as input row `position`. */
  put(position: number, batch: Csr, r: number): void {
    if (batch.numCols !== this.numCols) throw new RangeError(`batch has ${batch.numCols} columns, expected ${this.numCols}`);
    const begin = batch.indptr[r]; const end = batch.indptr[r + 1];
    this.rowIndices[position] = batch.indices.slice(begin, end);
    this.rowValues[position] = batch.values.slice(begin, end);
  }

  finish(): Csr {
    const indptr = new Int32Array(this.numRows + 1);
    for (let i = 0; i < this.numRows; i++) {
      const row = this.rowIndices[i];
      if (!row) throw new Error(`internal: row ${i} was never encoded`);
      indptr[i + 1] = indptr[i] + row.length;
    }
    const indices = new Int32Array(indptr[this.numRows]);
    const values = new Float32Array(indptr[this.numRows]);
    for (let i = 0; i < this.numRows; i++) {
      indices.set(this.rowIndices[i]!, indptr[i]);
      values.set(this.rowValues[i]!, indptr[i]);
    }
    return { indptr, indices, values, numCols: this.numCols };
  }
}
