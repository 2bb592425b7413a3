import type { Command } from 'commander';

import { integerValue } from '../option-values';

/** Default measures of `l0sparse eval`: the BEIR headline numbers plus the classic ones. */
const DEFAULT_METRICS = 'ndcg_cut.10,recall.100,recall.1000,map,recip_rank,P.10';

interface EvalOptions {
  qrels: string;
  run: string;
  split: string;
  metrics: string;
  json?: boolean;
  perQuery?: boolean;
  complete?: boolean;
  maxResults?: string;
  level: string;
  keepIdenticalIds?: boolean;
  trecEval?: boolean;
}

/** `l0sparse eval`: trec_eval-exact evaluation of a TREC run against qrels (a BEIR folder or a file). */
export function register(program: Command): void {
  program.command('eval')
    .description('evaluate a TREC run with trec_eval\'s exact definitions (BEIR: a hit whose id equals the query id is dropped)')
    .requiredOption('--qrels <file|dir>', 'qrels: a BEIR dataset folder (uses --split), a BEIR qrels .tsv, or a TREC qrels file')
    .requiredOption('--run <file>', 'TREC run file: qid Q0 docno rank score tag (rank is ignored; sorted by score)')
    .option('--split <name>', 'BEIR split when --qrels is a folder', 'test')
    .option('--metrics <list>', 'trec_eval measures (ndcg_cut.10, recall.100, P.5,10, map, recip_rank, ...) or ndcg@10, mrr@10, recall@100; also official, all_trec', DEFAULT_METRICS)
    .option('-q, --per-query', 'also give per-query values (in trec_eval\'s format, or in JSON with --json)')
    .option('-c, --complete', 'average over all judged queries; a query without results scores 0 (trec_eval -c)')
    .option('-M, --max-results <n>', 'keep only the best n results per query (trec_eval -M)')
    .option('-l, --level <n>', 'minimum relevance that counts as relevant (trec_eval -l)', '1')
    .option('--keep-identical-ids', 'keep a retrieved document whose id equals the query id (BEIR drops it)')
    .option('--trec-eval', 'print trec_eval\'s text format instead of a table')
    .option('--json', 'print JSON')
    .action(async (opts: EvalOptions) => {
      const { readQrelsAuto } = await import('../../data/beir');
      const { readTrecRun } = await import('../../data/trec');
      const { evaluate } = await import('../../eval/evaluate');
      const { evaluationToJson, formatSummaryTable, formatTrecEval } = await import('../../eval/format');
      const qrels = await readQrelsAuto(opts.qrels, opts.split);
      const { run, tag } = await readTrecRun(opts.run);
      const evaluation = evaluate(qrels, run, {
        measures: [opts.metrics],
        relevanceLevel: integerValue(opts.level, '--level', -1000),
        maxResults: opts.maxResults === undefined ? undefined : integerValue(opts.maxResults, '--max-results', 0),
        averageOverAllJudged: opts.complete ?? false,
        ignoreIdenticalIds: !opts.keepIdenticalIds,
      });
      const unjudged = [...run.keys()].filter((q) => !qrels.has(q)).length;
      if (opts.json) {
        process.stdout.write(JSON.stringify({ run: opts.run, runId: tag, runQueriesWithoutJudgments: unjudged, ...evaluationToJson(evaluation, opts.perQuery) }, null, 2) + '\n');
      } else if (opts.trecEval || opts.perQuery) {
        // Per-query values are many lines; trec_eval's format is the readable way to list them.
        process.stdout.write(formatTrecEval(evaluation, { perQuery: opts.perQuery, runId: tag }));
      } else {
        process.stdout.write(formatSummaryTable(evaluation));
        if (unjudged > 0) process.stderr.write(`l0sparse: note: ${unjudged} run quer(ies) have no judgments and were not evaluated\n`);
      }
    });
}
