import type { Command } from 'commander';

import { numberValue } from '../option-values';

interface Bm25CommandOptions {
  data: string;
  split: string;
  level: string;
  tokenizer?: string;
  k1: string;
  b: string;
  hits: string;
  out?: string;
  tag: string;
  metrics: string;
  onBadLine: string;
  keepIdenticalIds?: boolean;
  progress: boolean;
  json?: boolean;
}

/** `l0sparse bm25`: the BM25 baseline on a BEIR dataset, evaluated like Pyserini (trec_eval -c, top 1000). */
export function register(program: Command): void {
  program.command('bm25')
    .description('BM25 baseline (Lucene/Anserini-style) on a BEIR dataset; writes a TREC run and prints nDCG@10 and recall')
    .requiredOption('--data <dir>', 'BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)')
    .option('--split <name>', 'qrels split', 'test')
    .option('--level <word|wordpiece>', 'word: Anserini English analysis (Porter, stop words); wordpiece: ids from --tokenizer', 'word')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt for --level wordpiece')
    .option('--k1 <x>', 'BM25 k1', '0.9')
    .option('--b <x>', 'BM25 b', '0.4')
    .option('--hits <n>', 'hits kept per query', '1000')
    .option('--out <file>', 'write the run in TREC format')
    .option('--tag <name>', 'run tag in the TREC file', 'l0sparse-bm25')
    .option('--metrics <list>', 'measures to report (see `l0sparse eval --help`)', 'ndcg_cut.10,recall.100,recall.1000')
    .option('--on-bad-line <fail|skip>', 'malformed JSONL lines: fail, or skip and report them', 'fail')
    .option('--keep-identical-ids', 'keep a hit whose id equals the query id (BEIR drops it)')
    .option('--no-progress', 'no progress bars')
    .option('--json', 'print JSON')
    .action(async (opts: Bm25CommandOptions) => {
      const { loadBeir } = await import('../../data/beir');
      const { bm25OnBeir } = await import('../../bm25/beir-bm25');
      const { englishAnalyzer } = await import('../../bm25/english-analyzer');
      const { hitsToRun, writeTrecRun } = await import('../../data/trec');
      const { evaluate } = await import('../../eval/evaluate');
      const { formatSummaryTable } = await import('../../eval/format');
      if (opts.level !== 'word' && opts.level !== 'wordpiece') throw new Error(`--level must be word or wordpiece, got '${opts.level}'`);
      if (opts.onBadLine !== 'fail' && opts.onBadLine !== 'skip') throw new Error(`--on-bad-line must be fail or skip, got '${opts.onBadLine}'`);
      if (opts.level === 'wordpiece' && !opts.tokenizer) throw new Error('--level wordpiece needs --tokenizer <tokenizer.json|vocab.txt>');
      const hits = numberValue(opts.hits, '--hits');
      const params = { k1: numberValue(opts.k1, '--k1'), b: numberValue(opts.b, '--b'), k: hits, progress: opts.progress };

      const dataset = await loadBeir(opts.data, opts.split, { onBadLine: opts.onBadLine });
      let analyzer;
      if (opts.level === 'word') analyzer = englishAnalyzer();
      else {
        const { TextTokenizer } = await import('../../tokenizer/text-tokenizer');
        const { wordPieceAnalyzer } = await import('../../bm25/wordpiece-analyzer');
        analyzer = wordPieceAnalyzer(TextTokenizer.fromFile(opts.tokenizer!));
      }
      const result = await bm25OnBeir(dataset, analyzer, params);
      if (opts.out) await writeTrecRun(opts.out, result.results, opts.tag);
      // Pyserini's BEIR numbers average over every judged query (trec_eval -c); so do we.
      const evaluation = evaluate(dataset.qrels, hitsToRun(result.results), {
        measures: [opts.metrics], averageOverAllJudged: true, ignoreIdenticalIds: !opts.keepIdenticalIds,
      });
      if (result.emptyQueries.length > 0) process.stderr.write(`l0sparse: warning: ${result.emptyQueries.length} quer(ies) have no terms after analysis: ${result.emptyQueries.slice(0, 5).join(', ')}\n`);
      const summary = {
        data: opts.data, split: opts.split, level: opts.level, k1: result.index.k1, b: result.index.b, hits,
        documents: result.index.size, queries: dataset.queries.length, vocabulary: result.index.vocabularySize,
        avgLength: result.index.avgLength, indexSeconds: result.indexSeconds, searchSeconds: result.searchSeconds,
        run: opts.out ?? null, metrics: Object.fromEntries(evaluation.summary), problems: dataset.problems.length,
      };
      if (opts.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        return;
      }
      process.stdout.write(`BM25 (${opts.level}, k1=${summary.k1}, b=${summary.b}) on ${opts.data} [${opts.split}]: ${summary.documents} documents, ${summary.queries} queries, ${summary.vocabulary} terms\n`);
      process.stdout.write(`index ${summary.indexSeconds.toFixed(1)} s, search ${summary.searchSeconds.toFixed(1)} s${opts.out ? `, run written to ${opts.out}` : ''}\n\n`);
      process.stdout.write(formatSummaryTable(evaluation));
    });
}
