/** Token ids and attention mask of a padded batch, row-major [batchSize, seqLen]. */
export interface DocumentBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Real (unpadded) length of every row. */
  lengths: Int32Array;
}

/** Pads id rows with padId to the longest row; the attention mask marks the real tokens. */
export function padRows(rows: readonly ArrayLike<number>[], padId: number): DocumentBatch {
  if (rows.length === 0) throw new RangeError('cannot pad an empty batch');
  const seqLen = Math.max(...rows.map((r) => r.length));
  const inputIds = new Int32Array(rows.length * seqLen).fill(padId);
  const attentionMask = new Int32Array(rows.length * seqLen);
  const lengths = new Int32Array(rows.length);
  rows.forEach((ids, r) => {
    inputIds.set(ids, r * seqLen);
    attentionMask.fill(1, r * seqLen, r * seqLen + ids.length);
    lengths[r] = ids.length;
  });
  return { inputIds, attentionMask, batchSize: rows.length, seqLen, lengths };
}
