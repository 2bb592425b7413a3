import * as assert from 'assert';

import { evaluate } from '../../lib/eval/evaluate';
import { compareStrcmp, judgeRanking, sortTrecEval } from '../../lib/eval/ranking';
import type { Qrels, Run } from '../../lib/eval/types';
import { parseMeasures } from '../../lib/eval/measure-specs';

/** A small case worked out by hand (values in the comments). */
const qrels: Qrels = new Map([['q1', new Map([['d1', 2], ['d2', 1], ['d3', 0], ['d4', 1]])]]);
const run: Run = new Map([['q1', new Map([['d3', 3], ['d1', 2], ['d2', 2], ['dX', 1], ['q1', 5]])]]);

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} vs ${expected}`);

describe('evaluation measures (hand-computed)', () => {
  it('sorts by score, ties by document id descending, ignoring rank', () => {
    assert.deepStrictEqual(sortTrecEval(run.get('q1')!).map(([d]) => d), ['q1', 'd3', 'd2', 'd1', 'dX']);
  });

  it('drops the document named like the query only when asked (BEIR ignore_identical_ids)', () => {
    assert.deepStrictEqual(Array.from(judgeRanking('q1', qrels.get('q1'), run.get('q1'), { ignoreIdenticalIds: true }).rels), [0, 1, 2, -1]);
    assert.deepStrictEqual(Array.from(judgeRanking('q1', qrels.get('q1'), run.get('q1')).rels), [-1, 0, 1, 2, -1]);
  });

  it('computes P, recall, MAP, MRR@k and nDCG@k', () => {
    const e = evaluate(qrels, run, { measures: ['P.2', 'recall.3', 'map', 'recip_rank', 'mrr@1', 'ndcg@3', 'map@2', 'num_rel'], ignoreIdenticalIds: true });
    const s = e.summary;
    close(s.get('P_2')!, 1 / 2);
    close(s.get('recall_3')!, 2 / 3);
    close(s.get('map')!, (1 / 2 + 2 / 3) / 3);
    close(s.get('map_cut_2')!, (1 / 2) / 3);
    close(s.get('recip_rank')!, 1 / 2);
    close(s.get('recip_rank_cut_1')!, 0);
    // DCG = 0 + 1/log2(3) + 2/log2(4); ideal = 2 + 1/log2(3) + 1/log2(4)
    close(s.get('ndcg_cut_3')!, (1 / Math.log2(3) + 1) / (2 + 1 / Math.log2(3) + 0.5));
    assert.strictEqual(s.get('num_rel'), 3);
    const withQueryDoc = evaluate(qrels, run, { measures: ['recip_rank'] });
    close(withQueryDoc.summary.get('recip_rank')!, 1 / 3);
  });

  it('averages over judged queries only, unless told to use all of them (-c)', () => {
    const twoQueries: Qrels = new Map([...qrels, ['q2', new Map([['d9', 1]])]]);
    const partial = evaluate(twoQueries, run, { measures: ['recip_rank'], ignoreIdenticalIds: true });
    assert.deepStrictEqual(partial.queries, ['q1']);
    close(partial.summary.get('recip_rank')!, 1 / 2);
    const complete = evaluate(twoQueries, run, { measures: ['recip_rank'], ignoreIdenticalIds: true, averageOverAllJudged: true });
    assert.deepStrictEqual(complete.queries, ['q1', 'q2']);
    close(complete.summary.get('recip_rank')!, 1 / 4);
  });

  it('compares ids like C strcmp on UTF-8', () => {
    assert.ok(compareStrcmp('b', 'a') > 0 && compareStrcmp('a', 'ab') < 0 && compareStrcmp('x', 'x') === 0);
    // U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80) in UTF-8 although its UTF-16 unit is larger.
    assert.ok(compareStrcmp('\ufffd', '\u{1F600}') < 0);
    assert.ok(Buffer.compare(Buffer.from('\ufffd'), Buffer.from('\u{1F600}')) < 0);
  });

  it('parses measure specs and rejects unknown ones', () => {
    assert.deepStrictEqual(parseMeasures(['ndcg_cut.20,10', 'recall.100']).map((r) => [r.definition.name, r.params]),
      [['recall', [100]], ['ndcg_cut', [10, 20]]]);
    assert.deepStrictEqual(parseMeasures(['ndcg_cut.10,recall.100,mrr@10']).map((r) => r.definition.name), ['recall', 'ndcg_cut', 'recip_rank_cut']);
    assert.deepStrictEqual(parseMeasures(['recall.1000,ndcg@10,recall@100']).map((r) => [r.definition.name, r.params]),
      [['recall', [100, 1000]], ['ndcg_cut', [10]]]);
    assert.throws(() => parseMeasures(['ndcgg.10']), /unknown measure 'ndcgg.10'/);
    assert.throws(() => parseMeasures(['P.0']), /cutoffs must be positive/);
    assert.throws(() => evaluate(qrels, new Map([['zz', new Map([['d', 1]])]])), /no query has both judgments and results/);
  });
});
