import { strict as assert } from 'assert';

import { IdfTable } from '../../lib/idf/idf-table';
import { QueryEncoder } from '../../lib/query/query-encoder';
import { csrRow, validateCsr } from '../../lib/sparse/csr';
import { withTinyTokenizer } from '../idf/tiny-vocab';

describe('query: inference-free query encoder', () => {
  const tiny = withTinyTokenizer();
  after(() => tiny.cleanup());
  // ids: the 5, cat 6, dog 7, sat 8, on 9, mat 10, ##s 11, [UNK] 1, [MASK] 4
  const idf = IdfTable.fromEntries([['the', 0.5], ['cat', 2], ['dog', -1], ['[UNK]', 7], ['[MASK]', 9]]);

  it('weighs each distinct token by relu(idf), absent tokens by 1.0, special tokens by 0', async () => {
    const encoder = QueryEncoder.fromIdf(tiny.tokenizer, idf);
    const csr = await encoder.encode(['the cat cat sat dog zebra', 'mat [MASK] on', 'dog']);
    validateCsr(csr);
    assert.equal(csr.numCols, 12);
    // zebra → [UNK] (special, zeroed); dog has idf -1 → relu → 0 and is not stored; tf is ignored.
    assert.deepEqual(csrRow(csr, 0), [[5, 0.5], [6, 2], [8, 1]]);
    assert.deepEqual(csrRow(csr, 1), [[9, 1], [10, 1]]);
    assert.deepEqual(csrRow(csr, 2), []);
  });

  it('can keep special tokens and use another absent weight', async () => {
    const encoder = QueryEncoder.fromIdf(tiny.tokenizer, idf, { zeroSpecialTokens: false, absentWeight: 0 });
    const csr = await encoder.encode(['sat zebra [MASK] the']);
    assert.deepEqual(csrRow(csr, 0), [[1, 7], [4, 9], [5, 0.5]]);
  });

  it('truncates to maxLength tokens before deduplication, as a truncating tokenizer does', async () => {
    const encoder = QueryEncoder.fromIdf(tiny.tokenizer, idf, { maxLength: 2 });
    assert.deepEqual(csrRow(await encoder.encode(['cat the sat']), 0), [[5, 0.5], [6, 2]]);
    assert.throws(() => QueryEncoder.fromIdf(tiny.tokenizer, idf, { maxLength: 0 }), /maxLength must be a positive integer/);
  });

  it('rejects bad input naming the index or the size', async () => {
    const encoder = QueryEncoder.fromIdf(tiny.tokenizer, idf);
    await assert.rejects(encoder.encode(['ok', null as unknown as string]), /texts\[1\] is not a string \(got null\)/);
    await assert.rejects(encoder.encode([]), /texts is empty/);
    assert.throws(() => new QueryEncoder(tiny.tokenizer, new Float32Array(3)), /3 entries but the vocabulary has 12/);
  });
});
