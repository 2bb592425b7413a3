import * as assert from 'assert';

import { efficiency, flops } from '../../lib/eval/efficiency';
import { csrFromRows } from '../../lib/sparse/csr';

describe('efficiency measures', () => {
  it('computes FLOPS = Σ p_q(j)·p_d(j) and mean non-zeros (hand-computed)', () => {
    // p_q = [1/2, 1, 0]; p_d = [1/2, 1/4, 1/2] -> FLOPS = 1/4 + 1/4 + 0; mean doc nnz = 5/4 = Σ p_d
    const queries = csrFromRows([[[0, 1], [1, 2]], [[1, 0.5]]], 3);
    const docs = csrFromRows([[[0, 1]], [[0, 3], [2, 1]], [[2, 2]], [[1, 1]]], 3);
    assert.deepStrictEqual(efficiency(queries, docs), { flops: 0.5, meanDocNonZeros: 1.25, meanQueryNonZeros: 1.5 });
  });

  it('does not count stored zeros as active terms and checks vocabularies agree', () => {
    const queries = csrFromRows([[[0, 1], [1, 0]]], 2);
    const docs = csrFromRows([[[0, 1], [1, 1]]], 2);
    assert.strictEqual(flops(queries, docs), 1);
    assert.throws(() => flops(queries, csrFromRows([[[0, 1]]], 3)), /2 columns but documents have 3/);
  });
});
