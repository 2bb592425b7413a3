import * as assert from 'assert';

import { byte4ToInt, intToByte4, quantizedLength } from '../../lib/bm25/lucene-norms';

describe('Lucene 1-byte length norms (SmallFloat.intToByte4)', () => {
  it('keeps lengths below 24 exact', () => {
    for (let i = 0; i < 24; i++) assert.strictEqual(quantizedLength(i), i);
  });

  it('keeps 4 significant bits above, rounding down (worked by hand)', () => {
    // 100 - 24 = 76 = 0b1001100 -> top 4 bits 1001, shift 3 -> 0b1001 << 3 = 72 -> 24 + 72 = 96
    assert.strictEqual(intToByte4(100), 57);
    assert.strictEqual(quantizedLength(100), 96);
    // 1000 - 24 = 976 = 0b1111010000 -> 1111 << 6 = 960 -> 984
    assert.strictEqual(quantizedLength(1000), 984);
    // The largest encodable length is Lucene's documented byte4ToInt(255) = 2013265944.
    assert.strictEqual(intToByte4(2147483647), 255);
    assert.strictEqual(byte4ToInt(255), 2013265944);
  });

  it('is monotone, never rounds up, and is a fixed point on decoded values', () => {
    let previous = -1;
    for (let i = 0; i < 5000; i++) {
      const b = intToByte4(i);
      assert.ok(b >= previous && quantizedLength(i) <= i);
      assert.strictEqual(intToByte4(byte4ToInt(b)), b);
      previous = b;
    }
    assert.throws(() => intToByte4(-1), /document length/);
  });
});
