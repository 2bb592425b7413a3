import * as assert from 'assert';
import * as path from 'path';

import { documentText, loadBeir } from '../../lib/data/beir';
import { readTrecQrels } from '../../lib/data/trec';
import { sharedData } from '../helpers';

describe('BEIR loader on SciFact', function () {
  const data = sharedData();
  before(function () {
    if (!data) { console.log('    skipped: shared/data not found (set L0SPARSE_DATA)'); this.skip(); }
  });

  it('loads the test split with the counts in shared/data/README.md and qrels equal to Anserini\'s', async () => {
    const dir = path.join(data!, 'scifact');
    const ds = await loadBeir(dir, 'test', { warn: () => undefined });
    assert.strictEqual(ds.corpus.length, 5183);
    assert.strictEqual(ds.queries.length, 300);
    assert.strictEqual([...ds.qrels.values()].reduce((n, docs) => n + docs.size, 0), 339);
    assert.deepStrictEqual(ds.problems, []);
    assert.deepStrictEqual(ds.qrels, await readTrecQrels(path.join(dir, 'reference', 'qrels.beir-v1.0.0-scifact.test.txt')));
    const first = ds.corpus[0];
    assert.strictEqual(documentText(first), `${first.title} ${first.text}`);
  });
});
