import * as assert from 'assert';
import * as path from 'path';

import { bm25OnBeir } from '../../lib/bm25/beir-bm25';
import { englishAnalyzer } from '../../lib/bm25/english-analyzer';
import { loadBeir } from '../../lib/data/beir';
import { hitsToRun } from '../../lib/data/trec';
import { evaluate } from '../../lib/eval/evaluate';
import { sharedData } from '../helpers';

describe('BM25 on SciFact (word level) vs Pyserini flat', function () {
  const data = sharedData();
  before(function () {
    if (!data) { console.log('    skipped: shared/data not found (set L0SPARSE_DATA)'); this.skip(); }
  });

  it('lands within 0.01 of nDCG@10 = 0.6789 and R@100 = 0.9253 (trec_eval -c, top 1000)', async function () {
    const dataset = await loadBeir(path.join(data!, 'scifact'), 'test', { warn: () => undefined });
    const { results, emptyQueries } = await bm25OnBeir(dataset, englishAnalyzer(), { progress: false });
    assert.deepStrictEqual(emptyQueries, []);
    assert.ok([...results.values()].every((hits) => hits.length <= 1000));
    const evaluation = evaluate(dataset.qrels, hitsToRun(results), { measures: ['ndcg_cut.10', 'recall.100,1000'], averageOverAllJudged: true });
    const ndcg10 = evaluation.summary.get('ndcg_cut_10')!;
    const recall100 = evaluation.summary.get('recall_100')!;
    console.log(`      nDCG@10 ${ndcg10.toFixed(4)} (Pyserini 0.6789), R@100 ${recall100.toFixed(4)} (0.9253), R@1000 ${evaluation.summary.get('recall_1000')!.toFixed(4)} (0.9767)`);
    assert.ok(Math.abs(ndcg10 - 0.6789) < 0.01, `nDCG@10 ${ndcg10}`);
    assert.ok(Math.abs(recall100 - 0.9253) < 0.01, `R@100 ${recall100}`);
  });
});
