/**
 * Lucene stores each document's length as one byte (SmallFloat.intToByte4): lengths below 24 exactly,
 * longer ones with 4 significant bits, rounded down. BM25 then uses the decoded length, so scores
 * depend on this quantisation; reproducing it is needed to match Lucene/Anserini rankings.
 */

/** 4-bit-mantissa encoding of a non-negative integer (SmallFloat.longToInt4). */
function longToInt4(i: number): number {
  const numBits = i === 0 ? 0 : Math.floor(Math.log2(i)) + 1;
  if (numBits < 4) return i;
  const shift = numBits - 4;
  // Only the 4 most significant bits are kept; the leading one is implicit.
  const mantissa = Math.floor(i / 2 ** shift) & 0x07;
  return mantissa | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

/** Values below this are stored as themselves (255 - longToInt4(2^31 - 1) = 24). */
const NUM_FREE_VALUES = 255 - longToInt4(2147483647);

export function intToByte4(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i > 2147483647) throw new RangeError(`document length must be an integer in [0, 2^31), got ${i}`);
  return i < NUM_FREE_VALUES ? i : NUM_FREE_VALUES + longToInt4(i - NUM_FREE_VALUES);
}

export function byte4ToInt(b: number): number {
  return b < NUM_FREE_VALUES ? b : NUM_FREE_VALUES + int4ToLong(b - NUM_FREE_VALUES);
}

/** The length BM25 sees for a document of `length` tokens. */
export function quantizedLength(length: number): number {
  return byte4ToInt(intToByte4(length));
}
