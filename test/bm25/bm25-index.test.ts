import * as assert from 'assert';

import { buildBm25Index } from '../../lib/bm25/bm25-index';

const split = (text: string) => text.split(' ').filter((t) => t !== '');
const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= 1e-6 * expected, `${actual} vs ${expected}`);

/** Textbook BM25 without Lucene's dropped (k1 + 1) factor, in double precision. */
function bm25(tf: number, dl: number, avgdl: number, df: number, n: number, k1 = 0.9, b = 0.4): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (tf + k1 * (1 - b + b * dl / avgdl));
}

describe('BM25 index', () => {
  const docs = [{ id: 'd0', text: 'cat cat dog' }, { id: 'd1', text: 'cat' }, { id: 'd2', text: 'dog bird' }];

  it('scores like Lucene BM25 (hand formula, k1=0.9, b=0.4)', async () => {
    const index = await buildBm25Index(docs, split);
    assert.strictEqual(index.avgLength, 2);
    const hits = index.search(['cat']);
    assert.deepStrictEqual(hits.map((h) => h.docId), ['d0', 'd1']);
    near(hits[0].score, bm25(2, 3, 2, 2, 3));
    near(hits[1].score, bm25(1, 1, 2, 2, 3));
    const both = index.search(['cat', 'bird', 'cat']);
    near(both.find((h) => h.docId === 'd0')!.score, 2 * bm25(2, 3, 2, 2, 3));
    near(both.find((h) => h.docId === 'd2')!.score, bm25(1, 2, 2, 1, 3));
    assert.deepStrictEqual(index.search(['unknown']), []);
    assert.strictEqual(index.search(['cat', 'dog'], 1).length, 1);
  });

  it('uses the quantised length Lucene stores (100 tokens are scored as 96)', async () => {
    const long = { id: 'long', text: 'cat ' + 'x '.repeat(99) };
    const index = await buildBm25Index([long, ...docs], split);
    const avgdl = Math.fround((100 + 3 + 1 + 2) / 4);
    near(index.search(['cat']).find((h) => h.docId === 'long')!.score, bm25(1, 96, avgdl, 3, 4));
  });

  it('accepts token-id analyzers (WordPiece) with the same scores as strings', async () => {
    const vocab = new Map([['cat', 7], ['dog', 8], ['bird', 9]]);
    const ids = (text: string) => split(text).map((t) => vocab.get(t)!);
    const byId = await buildBm25Index(docs, { analyzeBatch: async (texts) => texts.map(ids) });
    const byWord = await buildBm25Index(docs, split);
    assert.deepStrictEqual(byId.search([7, 8]), byWord.search(['cat', 'dog']));
  });

  it('rejects duplicate ids and bad parameters', async () => {
    await assert.rejects(buildBm25Index([docs[0], docs[0]], split), /duplicate document id 'd0'/);
    await assert.rejects(buildBm25Index(docs, split, { b: 2 }), /0 <= b <= 1/);
  });
});
