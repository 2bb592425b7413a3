import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { readTrecQrels, readTrecRun } from '../../lib/data/trec';
import { EvaluateOptions, evaluate } from '../../lib/eval/evaluate';
import { formatTrecEval } from '../../lib/eval/format';
import { sharedData } from '../helpers';

/**
 * Reproduces trec_eval's own expected outputs (usnistgov/trec_eval test/, in shared/data) line for line,
 * 4-decimal text included, for every measure we implement. Lines of measures we do not implement are
 * counted so a silently shrinking measure set would show up in the minimum-match checks.
 */
interface Case {
  output: string;
  args: string;
  qrels: string;
  run: string;
  options: EvaluateOptions;
  perQuery: boolean;
  /** Lines of the expected output that must be matched (all lines of our measures). */
  minMatched: number;
}

const CASES: Case[] = [
  { output: 'out.test', args: '(defaults)', qrels: 'qrels.test', run: 'results.test', options: {}, perQuery: false, minMatched: 30 },
  { output: 'out.test.a', args: '-m all_trec', qrels: 'qrels.test', run: 'results.test', options: { measures: ['all_trec'] }, perQuery: false, minMatched: 75 },
  { output: 'out.test.aq', args: '-m all_trec -q', qrels: 'qrels.test', run: 'results.test', options: { measures: ['all_trec'] }, perQuery: true, minMatched: 291 },
  { output: 'out.test.aqc', args: '-m all_trec -q -c', qrels: 'qrels.test', run: 'results.trunc', options: { measures: ['all_trec'], averageOverAllJudged: true }, perQuery: true, minMatched: 291 },
  { output: 'out.test.aqcM', args: '-m all_trec -q -c -M100', qrels: 'qrels.test', run: 'results.trunc', options: { measures: ['all_trec'], averageOverAllJudged: true, maxResults: 100 }, perQuery: true, minMatched: 291 },
  { output: 'out.test.aql', args: '-m all_trec -q -l2', qrels: 'qrels.rel_level', run: 'results.test', options: { measures: ['all_trec'], relevanceLevel: 2 }, perQuery: true, minMatched: 291 },
  {
    output: 'out.test.meas_params', args: '-q with parameters', qrels: 'qrels.test', run: 'results.test', perQuery: true, minMatched: 68,
    options: { measures: ['iprec_at_recall..10,.20,.25,.75,.50', 'P.5,7,3', 'recall.20,2000', 'ndcg.1=3,2=9,4=4.5', 'ndcg_cut.10,20,23.4', 'success.2,5,20'] },
  },
];

/** 'name|qid' -> the whole line, for an output of trec_eval. */
function linesByKey(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [name, qid] = line.split('\t');
    out.set(`${name.trim()}|${qid}`, line);
  }
  return out;
}

describe('trec_eval reference outputs', function () {
  const data = sharedData();
  before(function () {
    if (!data) { console.log('    skipped: shared/data not found (set L0SPARSE_DATA)'); this.skip(); }
  });

  for (const c of CASES) {
    it(`${c.output} (trec_eval ${c.args}) line for line`, async function () {
      const dir = path.join(data!, 'trec_eval-reference');
      const qrels = await readTrecQrels(path.join(dir, c.qrels));
      const { run, tag } = await readTrecRun(path.join(dir, c.run));
      const evaluation = evaluate(qrels, run, c.options);
      const ours = linesByKey(formatTrecEval(evaluation, { perQuery: c.perQuery, runId: tag }));
      const expected = linesByKey(fs.readFileSync(path.join(dir, c.output), 'utf8'));
      const ourNames = new Set([...evaluation.names, 'runid', 'num_q']);
      let matched = 0;
      for (const [key, line] of expected) {
        if (!ourNames.has(key.split('|')[0])) continue;
        assert.strictEqual(ours.get(key), line, `${c.output}: ${key}`);
        matched++;
      }
      assert.ok(matched >= c.minMatched, `${c.output}: matched ${matched} lines, expected at least ${c.minMatched}`);
    });
  }

  it('gives the README key values (map 0.1785, P_10 0.3000, ndcg_cut_10 0.3016, recall_1000 0.5997)', async function () {
    const dir = path.join(data!, 'trec_eval-reference');
    const evaluation = evaluate(await readTrecQrels(path.join(dir, 'qrels.test')), (await readTrecRun(path.join(dir, 'results.test'))).run,
      { measures: ['map', 'P.10', 'ndcg_cut.10', 'recall.1000', 'ndcg', 'recip_rank'] });
    const s = evaluation.summary;
    assert.deepStrictEqual(['map', 'P_10', 'ndcg_cut_10', 'recall_1000', 'ndcg', 'recip_rank'].map((n) => s.get(n)!.toFixed(4)),
      ['0.1785', '0.3000', '0.3016', '0.5997', '0.4021', '0.4064']);
  });
});
