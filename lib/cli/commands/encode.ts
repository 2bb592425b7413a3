import * as path from 'path';

import type { Command } from 'commander';

interface EncodeCommandOptions {
  model: string;
  data: string;
  out: string;
  jsonl?: string;
  batchSize: string;
  maxLength?: string;
  window: string;
  prune?: string;
  keepSpecialTokens?: boolean;
  onBadLine: string;
  resume?: boolean;
  overwrite?: boolean;
  progressFile?: string;
  progress: boolean;
  json?: boolean;
}

function integerOption(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** Skipped lines listed in --json output; all of them went to stderr already. */
const LISTED_SKIPPED_LINES = 100;

/** `l0sparse encode`: a BEIR corpus -> document vectors (binary CSR and/or JSONL), resumable. */
export function register(program: Command): void {
  program.command('encode')
    .description('encode a BEIR corpus (title + " " + text) into document vectors: a binary CSR file and optionally JSONL {"id","vector"}; ' +
      'resumable (--resume continues an interrupted run; Ctrl-C stops after the current batch)')
    .requiredOption('--model <dir>', 'model dir (transformers or sentence-transformers layout)')
    .requiredOption('--data <path>', 'BEIR dataset folder with corpus.jsonl, or the corpus.jsonl file itself')
    .requiredOption('--out <file>', 'binary CSR vector file to write')
    .option('--jsonl <file>', 'also write JSONL {"id", "vector": {token: weight}}')
    .option('--batch-size <n>', 'documents per native call', '32')
    .option('--max-length <n>', 'tokens per document incl. [CLS]/[SEP] (default: the model dir\'s)')
    .option('--window <n>', 'documents sorted by length together to form batches', '2048')
    .option('--prune <type:value>', 'prune each vector: top_k:N, max_ratio:R, alpha_mass:A or abs_value:T')
    .option('--keep-special-tokens', 'keep the weights of [CLS], [SEP], [PAD], [UNK], [MASK] (zeroed by default)')
    .option('--on-bad-line <fail|skip>', 'malformed corpus lines: fail, or skip and report each', 'fail')
    .option('--resume', 'continue the run recorded in the progress file (or start one)')
    .option('--overwrite', 'start over, replacing existing outputs')
    .option('--progress-file <file>', 'progress record (default: <out>.progress.json)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the report as JSON')
    .action(async (opts: EncodeCommandOptions) => {
      if (opts.resume && opts.overwrite) throw new Error('--resume and --overwrite exclude each other');
      if (opts.onBadLine !== 'fail' && opts.onBadLine !== 'skip') throw new Error(`--on-bad-line must be fail or skip, got '${opts.onBadLine}'`);
      const { parsePruneSpec } = await import('../../sparse/prune');
      const { SparseEncoder } = await import('../../encoder/sparse-encoder');
      const { encodeCorpus, resolveCorpusFile } = await import('../../encode');
      const prune = opts.prune ? parsePruneSpec(opts.prune) : null;
      const corpus = resolveCorpusFile(opts.data);
      const encoder = await SparseEncoder.load(opts.model);
      const stop = new AbortController();
      const onInterrupt = (): void => {
        process.stderr.write('\nl0sparse: stopping after the current batch (interrupt again to kill; --resume continues)\n');
        stop.abort();
        process.removeListener('SIGINT', onInterrupt);
      };
      process.on('SIGINT', onInterrupt);
      try {
        const report = await encodeCorpus(encoder, corpus, {
          outputs: { csr: opts.out, jsonl: opts.jsonl },
          mode: opts.resume ? 'resume' : opts.overwrite ? 'overwrite' : 'create',
          progressFile: opts.progressFile,
          batchSize: integerOption(opts.batchSize, '--batch-size'),
          maxLength: opts.maxLength === undefined ? undefined : integerOption(opts.maxLength, '--max-length'),
          windowSize: integerOption(opts.window, '--window'),
          prune,
          zeroSpecialTokens: !opts.keepSpecialTokens,
          onBadLine: opts.onBadLine,
          progress: opts.progress,
          signal: stop.signal,
        });
        if (!report.complete) process.exitCode = 130;
        if (opts.json) {
          const { skippedLines, ...rest } = report;
          process.stdout.write(JSON.stringify({
            model: path.resolve(opts.model), ...rest, skippedLines: skippedLines.length, skippedLinesListed: skippedLines.slice(0, LISTED_SKIPPED_LINES),
          }, null, 2) + '\n');
          return;
        }
        const state = report.complete ? 'complete' : 'stopped (rerun with --resume to continue)';
        process.stdout.write(`encoded ${report.encodedDocs} documents in ${report.seconds.toFixed(1)} s (${report.docsPerSecond.toFixed(1)} docs/s); ` +
          `${report.docs} in ${[report.outputs.csr, report.outputs.jsonl].filter(Boolean).join(' and ')}` +
          `${report.resumedDocs ? ` (${report.resumedDocs} from before)` : ''}: ${state}\n`);
        process.stdout.write(`nonzeros per document: mean ${report.nnz.mean.toFixed(1)}, min ${report.nnz.min ?? '-'}, max ${report.nnz.max ?? '-'}` +
          `${report.emptyVectors ? `; ${report.emptyVectors} empty vectors` : ''}\n`);
        if (report.skippedLines.length) process.stdout.write(`skipped ${report.skippedLines.length} malformed corpus lines (listed on stderr)\n`);
      } finally {
        process.removeListener('SIGINT', onInterrupt);
        encoder.dispose();
      }
    });
}
