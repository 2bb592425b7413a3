/**
 * A batch of sparse vectors in CSR form: row r holds indices[indptr[r] .. indptr[r+1]) with their values.
 * Column indices are vocabulary ids; within a row they are strictly increasing.
 */
export interface Csr {
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  /** Number of columns (vocabulary size). */
  numCols: number;
}

export function csrRows(csr: Csr): number {
  return csr.indptr.length - 1;
}

/** Checks the structural invariants; throws a RangeError naming the first violation. */
export function validateCsr(csr: Csr, what = 'csr'): void {
  const { indptr, indices, values, numCols } = csr;
  if (!(indptr instanceof Int32Array) || !(indices instanceof Int32Array) || !(values instanceof Float32Array))
    throw new TypeError(`${what}: indptr/indices must be Int32Array and values Float32Array`);
  if (indptr.length < 1 || indptr[0] !== 0) throw new RangeError(`${what}: indptr must start with 0`);
  if (indices.length !== values.length) throw new RangeError(`${what}: ${indices.length} indices but ${values.length} values`);
  if (indptr[indptr.length - 1] !== indices.length)
    throw new RangeError(`${what}: indptr ends at ${indptr[indptr.length - 1]}, but there are ${indices.length} entries`);
  for (let r = 0; r + 1 < indptr.length; r++) {
    if (indptr[r + 1] < indptr[r]) throw new RangeError(`${what}: indptr decreases at row ${r}`);
    for (let j = indptr[r]; j < indptr[r + 1]; j++) {
      const c = indices[j];
      if (c < 0 || c >= numCols) throw new RangeError(`${what}: row ${r} has column ${c} outside [0, ${numCols})`);
      if (j > indptr[r] && c <= indices[j - 1]) throw new RangeError(`${what}: row ${r} columns are not strictly increasing`);
    }
  }
}

/** Row r as [index, value] pairs. */
export function csrRow(csr: Csr, r: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) out.push([csr.indices[j], csr.values[j]]);
  return out;
}

/** Builds a CSR from per-row maps (index -> value); zero and non-finite values are rejected by the caller. */
export function csrFromRows(rows: Map<number, number>[] | [number, number][][], numCols: number): Csr {
  const indptr = new Int32Array(rows.length + 1);
  let nnz = 0;
  const sorted = rows.map((row) => {
    const entries = (row instanceof Map ? [...row.entries()] : [...row]).sort((a, b) => a[0] - b[0]);
    nnz += entries.length;
    return entries;
  });
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  sorted.forEach((entries, r) => {
    for (const [c, v] of entries) { indices[k] = c; values[k] = v; k++; }
    indptr[r + 1] = k;
  });
  return { indptr, indices, values, numCols };
}
