import * as assert from 'assert';
import * as path from 'path';

import { buildBm25Index } from '../../lib/bm25/bm25-index';
import { wordPieceAnalyzer } from '../../lib/bm25/wordpiece-analyzer';
import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';
import { sharedData } from '../helpers';

describe('BM25 over WordPiece ids (project tokenizer)', function () {
  const data = sharedData();
  before(function () {
    if (!data) { console.log('    skipped: shared/data not found (set L0SPARSE_DATA)'); this.skip(); }
  });

  it('indexes bert-base-uncased ids and finds the document sharing the rare word pieces', async () => {
    const tokenizer = TextTokenizer.fromFile(path.join(data!, 'bert-base-uncased', 'vocab.txt'));
    const analyzer = wordPieceAnalyzer(tokenizer);
    const [ids] = await analyzer.analyzeBatch(['Interleukin-6 levels']);
    // No [CLS]/[SEP]: the ids are exactly the word pieces of the text.
    assert.deepStrictEqual(ids.map((id) => tokenizer.idToToken(Number(id))), await tokenizer.tokenize('Interleukin-6 levels'));
    const index = await buildBm25Index([
      { id: 'a', text: 'Interleukin-6 signalling in inflammation' },
      { id: 'b', text: 'Levels of vitamin D in adults' },
      { id: 'c', text: 'Protein folding' },
    ], analyzer);
    const [query] = await analyzer.analyzeBatch(['interleukin 6']);
    assert.deepStrictEqual(index.search(query).map((h) => h.docId), ['a']);
  });
});
