import { MeasureRequest, parseMeasures } from './measure-specs';
import { RankingOptions, judgeRanking, queriesToEvaluate } from './ranking';
import type { Qrels, Run } from './types';

/** trec_eval's floor for values averaged geometrically (MIN_GEO_MEAN). */
const MIN_GEO_MEAN = 0.00001;

export interface EvaluateOptions extends RankingOptions {
  /** Measure specs (see measure-specs.ts); default trec_eval's 'official' set. */
  measures?: readonly string[];
  /**
   * Average over every judged query, a query without results scoring 0 (trec_eval -c). Without it, only
   * queries that have both judgments and results are evaluated, as trec_eval does by default.
   */
  averageOverAllJudged?: boolean;
}

export interface Evaluation {
  /** Output names in print order (e.g. 'ndcg_cut_10'). */
  names: string[];
  /** Names printed as integers by trec_eval (num_ret, num_rel, ...). */
  integerNames: Set<string>;
  /** Names trec_eval prints only as a summary (gm_map); their per-query values are still kept. */
  summaryOnlyNames: Set<string>;
  /** Evaluated query ids, in trec_eval's order (strcmp of the qrels ids). */
  queries: string[];
  perQuery: Map<string, Map<string, number>>;
  /** The 'all' line: means, sums or geometric means as trec_eval forms them. */
  summary: Map<string, number>;
}

export function evaluate(qrels: Qrels, run: Run, options: EvaluateOptions = {}): Evaluation {
  const requests = parseMeasures(options.measures ?? ['official']);
  if (options.relevanceLevel !== undefined && !Number.isInteger(options.relevanceLevel))
    throw new Error(`relevance level must be an integer, got ${options.relevanceLevel}`);
  if (options.maxResults !== undefined && !(Number.isInteger(options.maxResults) && options.maxResults >= 0))
    throw new Error(`maxResults must be a non-negative integer, got ${options.maxResults}`);
  const queries = queriesToEvaluate(qrels, new Set(run.keys()), options.averageOverAllJudged ?? false);
  if (queries.length === 0) throw new Error('no query has both judgments and results (do the run and qrels use the same query ids?)');

  const names: string[] = [];
  const integerNames = new Set<string>();
  const summaryOnlyNames = new Set<string>();
  const labelled = requests.map((req) => {
    const labels = req.definition.labels(req.params, req.rawParams);
    names.push(...labels);
    if (req.definition.integer) labels.forEach((l) => integerNames.add(l));
    if (req.definition.summaryOnly) labels.forEach((l) => summaryOnlyNames.add(l));
    return { req, labels };
  });

  const perQuery = new Map<string, Map<string, number>>();
  for (const qid of queries) {
    const ranking = judgeRanking(qid, qrels.get(qid), run.get(qid), options);
    const values = new Map<string, number>();
    for (const { req, labels } of labelled) {
      const computed = req.definition.compute(ranking, req.params, req.gains);
      labels.forEach((label, i) => values.set(label, computed[i]));
    }
    perQuery.set(qid, values);
  }
  return { names, integerNames, summaryOnlyNames, queries, perQuery, summary: summarise(labelled, queries, perQuery) };
}

function summarise(labelled: { req: MeasureRequest; labels: string[] }[], queries: string[],
  perQuery: Map<string, Map<string, number>>): Map<string, number> {
  const summary = new Map<string, number>();
  for (const { req, labels } of labelled) {
    for (const label of labels) {
      const values = queries.map((q) => perQuery.get(q)!.get(label)!);
      let value: number;
      switch (req.definition.summary) {
        case 'sum': value = values.reduce((a, b) => a + b, 0); break;
        case 'mean': value = values.reduce((a, b) => a + b, 0) / values.length; break;
        case 'geometric': value = Math.exp(values.reduce((a, v) => a + Math.log(Math.max(v, MIN_GEO_MEAN)), 0) / values.length); break;
      }
      summary.set(label, value);
    }
  }
  return summary;
}
