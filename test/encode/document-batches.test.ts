import { strict as assert } from 'assert';

import { decodeRow } from '../../lib/encode/decode';
import { CsrAssembler, lengthSortedBatches } from '../../lib/encode/document-batches';
import { csrFromRows, csrRow, validateCsr } from '../../lib/sparse/csr';

describe('encoder: length-sorted batches, CSR reassembly, decode', () => {
  it('batches longest first, keeps input order among equal lengths, caps the batch size', () => {
    assert.deepEqual(lengthSortedBatches([3, 9, 3, 7, 1], 2), [[1, 3], [0, 2], [4]]);
    assert.deepEqual(lengthSortedBatches([5], 32), [[0]]);
    assert.throws(() => lengthSortedBatches([1, 2], 0), /batchSize must be a positive integer/);
  });

  it('with a token budget, cuts batches by summed lengths (a longer document alone), batchSize still caps', () => {
    // sorted: 9 (1), 7 (3), 3 (0), 3 (2), 1 (4)
    assert.deepEqual(lengthSortedBatches([3, 9, 3, 7, 1], 32, 10), [[1], [3, 0], [2, 4]]);
    assert.deepEqual(lengthSortedBatches([3, 9, 3, 7, 1], 32, 8), [[1], [3], [0, 2, 4]]);
    assert.deepEqual(lengthSortedBatches([3, 9, 3, 7, 1], 2, 100), [[1, 3], [0, 2], [4]]);
    assert.deepEqual(lengthSortedBatches([2, 2, 2, 2], 32, 4), [[0, 1], [2, 3]]);
    assert.throws(() => lengthSortedBatches([1, 2], 4, 0), /batchTokens must be a positive integer, got 0/);
  });

  it('puts rows computed out of order back in input order', () => {
    // batch A holds inputs 2 and 0, batch B input 1
    const a = csrFromRows([[[4, 0.5]], [[1, 1], [3, 2]]], 5);
    const b = csrFromRows([[]], 5);
    const asm = new CsrAssembler(3, 5);
    asm.put(2, a, 0); asm.put(0, a, 1); asm.put(1, b, 0);
    const out = asm.finish();
    validateCsr(out);
    assert.deepEqual([0, 1, 2].map((r) => csrRow(out, r)), [[[1, 1], [3, 2]], [], [[4, 0.5]]]);
    const missing = new CsrAssembler(2, 5);
    missing.put(0, b, 0);
    assert.throws(() => missing.finish(), /row 1 was never encoded/);
    assert.throws(() => missing.put(1, csrFromRows([[]], 6), 0), /6 columns, expected 5/);
  });

  it('decodes a row heaviest first (ties by id), with topK', () => {
    const csr = csrFromRows([[[0, 1]], [[2, 0.5], [5, 3], [7, 0.5], [9, 0]]], 10);
    const names = (id: number) => `t${id}`;
    assert.deepEqual(decodeRow(csr, 1, names), [['t5', 3], ['t2', 0.5], ['t7', 0.5]]);
    assert.deepEqual(decodeRow(csr, 1, names, 1), [['t5', 3]]);
    assert.throws(() => decodeRow(csr, 2, names), /row 2 is outside the batch of 2 vectors/);
    assert.throws(() => decodeRow(csr, 0, names, 0), /topK must be a positive integer/);
  });
});
