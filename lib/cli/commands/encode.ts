import * as fs from 'fs';
import * as path from 'path';

import type { Command } from 'commander';

import type { EncodeCorpusReport, EncodeCorpusOptions, MergeShardsReport } from '../../encode';
import { isLocallyLaunchedRank, exitWithLauncher, launchRanksOfThisCommand, parseNproc, shouldLaunchRanks } from '../../launch/local-launch';
import { rankFromEnv, threadsPerLocalRank } from '../../launch/rank-env';
import { PRUNE_HELP } from '../prune-option';

interface EncodeCommandOptions {
  model: string;
  data: string;
  out: string;
  jsonl?: string;
  batchSize: string;
  batchTokens?: string;
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
  nproc?: string;
  mergeShards?: boolean;
  keepShards?: boolean;
  shardWait: string;
  device?: string;
  dtype?: string;
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
    .option('--batch-tokens <n>', 'also cap each native call at n tokens (documents are packed without padding; e.g. 8192 with a larger --batch-size)')
    .option('--max-length <n>', 'tokens per document incl. [CLS]/[SEP] (default: the model dir\'s)')
    .option('--window <n>', 'documents sorted by length together to form batches', '2048')
    .option('--device <cpu|cuda|cuda:N>', 'where the document model runs (default cpu; cuda needs the CUDA variant and a GPU); ' +
      'with ranks, cuda puts each rank on GPU LOCAL_RANK mod the GPU count')
    .option('--dtype <auto|float32|bfloat16>', 'encoder arithmetic: bfloat16 = bf16 weights/activations with fp32 accumulation; ' +
      'auto = bfloat16 on a GPU or a CPU with native bf16 (default: L0SPARSE_ENCODE_DTYPE, else float32)')
    .option('--prune <type:value>', PRUNE_HELP)
    .option('--keep-special-tokens', 'keep the weights of [CLS], [SEP], [PAD], [UNK], [MASK] (zeroed by default)')
    .option('--on-bad-line <fail|skip>', 'malformed corpus lines: fail, or skip and report each', 'fail')
    .option('--resume', 'continue the run recorded in the progress file (or start one)')
    .option('--overwrite', 'start over, replacing existing outputs')
    .option('--progress-file <file>', 'progress record (default: <out>.progress.json)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the report as JSON')
    .option('--nproc <n>', 'encode with n processes on this machine, each a shard of the corpus, then merge (docs/DISTRIBUTED.md); ' +
      'across machines, start one process per rank with WORLD_SIZE and RANK set and --out on a shared filesystem')
    .option('--merge-shards', 'only merge the complete shards of a sharded run into --out/--jsonl (same options as the run; ' +
      'shard count from --nproc, WORLD_SIZE or the shard folder)')
    .option('--keep-shards', 'keep <out>.shards/ after a verified merge (removed by default)')
    .option('--shard-wait <seconds>', 'rank 0: fail when, while it waits to merge, no other shard made progress for this long', '600')
    .action(async (opts: EncodeCommandOptions, cmd: Command) => {
      if (opts.resume && opts.overwrite) throw new Error('--resume and --overwrite exclude each other');
      if (opts.onBadLine !== 'fail' && opts.onBadLine !== 'skip') throw new Error(`--on-bad-line must be fail or skip, got '${opts.onBadLine}'`);
      const nproc = parseNproc(opts.nproc);
      // A malformed name fails here once, not in every rank (whether the GPU exists is the addon's to say).
      if (opts.device !== undefined) (await import('../../native/device')).checkDeviceName(opts.device, '--device');
      const shardWaitMs = integerOption(opts.shardWait, '--shard-wait') * 1000;
      const dtype = opts.dtype === undefined ? undefined : (await import('../../encode/encode-dtype')).parseEncodeDtype(opts.dtype, '--dtype');
      const { removeAllShards, resolveCorpusFile } = await import('../../encode');
      const finalOutputs = { csr: path.resolve(opts.out), jsonl: opts.jsonl ? path.resolve(opts.jsonl) : undefined };
      if (!opts.mergeShards && shouldLaunchRanks(nproc)) {
        // A missing corpus or existing outputs fail here once, not in every rank.
        resolveCorpusFile(opts.data);
        const existing = [finalOutputs.csr, finalOutputs.jsonl, opts.progressFile ?? `${finalOutputs.csr}.progress.json`].find((f) => f && fs.existsSync(f));
        if (existing && !opts.resume && !opts.overwrite) throw new Error(`${existing} exists: resume the run (--resume) or start over (--overwrite)`);
        // Before any rank starts: none may take a complete shard of an earlier run for this run's.
        if (opts.overwrite) removeAllShards(finalOutputs);
        await launchRanksOfThisCommand(nproc);
        return;
      }
      exitWithLauncher();
      const rank = rankFromEnv();
      if (rank && opts.overwrite && !opts.mergeShards && !isLocallyLaunchedRank()) {
        throw new Error(`--overwrite is not supported for ranks started by hand (rank 0 could merge a stale shard of another rank): ` +
          `remove ${finalOutputs.csr}.shards and the final outputs, then start every rank without --overwrite`);
      }
      // Ranks share the machine's cores unless --threads says otherwise.
      if (rank && cmd.optsWithGlobals().threads === undefined) {
        const { setNumThreads } = await import('../../native/threads');
        setNumThreads(threadsPerLocalRank(rank.localWorldSize));
      }
      const { parsePruneSpec } = await import('../../sparse/prune');
      const { SparseEncoder } = await import('../../encode/sparse-encoder');
      const { cudaDeviceCount } = await import('../../native/device');
      const { shardDevice } = await import('../../encode/sharded-encode');
      const { encodeCorpus, encodeCorpusSharded, finalRun, mergeShards, shardCountsOnDisk } = await import('../../encode');
      const prune = opts.prune ? parsePruneSpec(opts.prune) : null;
      const corpus = resolveCorpusFile(opts.data);
      const device = rank ? shardDevice(opts.device, rank.localRank, cudaDeviceCount()) : opts.device;
      const encoder = await SparseEncoder.load(opts.model, { device });
      const stop = new AbortController();
      const onInterrupt = (): void => {
        process.stderr.write('\nl0sparse: stopping after the current batch (interrupt again to kill; --resume continues)\n');
        stop.abort();
        process.removeListener('SIGINT', onInterrupt);
      };
      process.on('SIGINT', onInterrupt);
      try {
        const options: EncodeCorpusOptions = {
          outputs: finalOutputs,
          mode: opts.resume ? 'resume' : opts.overwrite ? 'overwrite' : 'create',
          progressFile: opts.progressFile,
          batchSize: integerOption(opts.batchSize, '--batch-size'),
          batchTokens: opts.batchTokens === undefined ? undefined : integerOption(opts.batchTokens, '--batch-tokens'),
          maxLength: opts.maxLength === undefined ? undefined : integerOption(opts.maxLength, '--max-length'),
          windowSize: integerOption(opts.window, '--window'),
          dtype,
          prune,
          zeroSpecialTokens: !opts.keepSpecialTokens,
          onBadLine: opts.onBadLine as 'fail' | 'skip',
          progress: opts.progress,
          signal: stop.signal,
        };
        if (opts.mergeShards) {
          const counts = shardCountsOnDisk(finalOutputs);
          const count = nproc > 1 ? nproc : rank ? rank.worldSize : counts.length === 1 ? counts[0] : 0;
          if (count < 1) {
            throw new Error(counts.length === 0 ? `no shards to merge in ${finalOutputs.csr}.shards` :
              `${finalOutputs.csr}.shards holds shards of ${counts.join(' and ')} ranks: say which with --nproc`);
          }
          const run = await finalRun(encoder, corpus, options);
          const merged = await mergeShards(run.corpusFile, {
            outputs: run.outputs, progressFile: run.progressFile, identity: run.identity, count, onBadLine: run.settings.onBadLine, keepShards: opts.keepShards,
          });
          printMerge(merged, opts);
          return;
        }
        if (rank) {
          const sharded = await encodeCorpusSharded(encoder, corpus, {
            ...options, shard: { rank: rank.rank, count: rank.worldSize }, keepShards: opts.keepShards, shardWaitMs,
            log: (message) => process.stderr.write(`l0sparse: ${message}\n`),
          });
          if (opts.json) {
            const encoded = sharded.encoded ? jsonReport(sharded.encoded) : null;
            process.stdout.write(JSON.stringify({ model: path.resolve(opts.model), ...sharded, encoded, merged: sharded.merged && mergeJson(sharded.merged) }, null, 2) + '\n');
          } else if (sharded.alreadyComplete) {
            process.stdout.write(`nothing to do: ${[sharded.outputs.csr, sharded.outputs.jsonl].filter(Boolean).join(' and ')} complete (${sharded.outputs.progress})\n`);
          } else {
            if (sharded.encoded) printEncode(sharded.encoded, `rank ${rank.rank} of ${rank.worldSize}: `);
            if (sharded.merged) printMerge(sharded.merged, opts);
          }
          if (!sharded.alreadyComplete && !sharded.encoded?.complete) process.exitCode = 130;
          else if (rank.rank === 0 && !sharded.complete) process.exitCode = 130;
          return;
        }
        const report = await encodeCorpus(encoder, corpus, options);
        if (!report.complete) process.exitCode = 130;
        if (opts.json) {
          process.stdout.write(JSON.stringify({ model: path.resolve(opts.model), ...jsonReport(report) }, null, 2) + '\n');
          return;
        }
        printEncode(report, '');
      } finally {
        process.removeListener('SIGINT', onInterrupt);
        encoder.dispose();
      }
    });
}

/** The report as printed by --json: skipped lines counted, the first ones listed (all went to stderr). */
function jsonReport(report: EncodeCorpusReport): object {
  const { skippedLines, ...rest } = report;
  return { ...rest, skippedLines: skippedLines.length, skippedLinesListed: skippedLines.slice(0, LISTED_SKIPPED_LINES) };
}

function mergeJson(report: MergeShardsReport): object {
  const { skippedLines, ...rest } = report;
  return { ...rest, skippedLines: skippedLines.length };
}

function printEncode(report: EncodeCorpusReport, who: string): void {
  const state = report.complete ? 'complete' : 'stopped (rerun with --resume to continue)';
  process.stdout.write(`${who}encoded ${report.encodedDocs} documents in ${report.seconds.toFixed(1)} s (${report.docsPerSecond.toFixed(1)} docs/s); ` +
    `${report.docs} in ${[report.outputs.csr, report.outputs.jsonl].filter(Boolean).join(' and ')}` +
    `${report.resumedDocs ? ` (${report.resumedDocs} from before)` : ''}: ${state}\n`);
  process.stdout.write(`${who}nonzeros per document: mean ${report.nnz.mean.toFixed(1)}, min ${report.nnz.min ?? '-'}, max ${report.nnz.max ?? '-'}` +
    `${report.emptyVectors ? `; ${report.emptyVectors} empty vectors` : ''}\n`);
  if (report.skippedLines.length) process.stdout.write(`${who}skipped ${report.skippedLines.length} malformed corpus lines (listed on stderr)\n`);
}

function printMerge(report: MergeShardsReport, opts: { json?: boolean }): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(mergeJson(report), null, 2) + '\n');
    return;
  }
  const c = report.committed;
  process.stdout.write(`merged ${report.shards} shards in ${report.seconds.toFixed(1)} s: ${report.docs} documents, each once, in corpus order in ` +
    `${[report.outputs.csr, report.outputs.jsonl].filter(Boolean).join(' and ')}` +
    `${report.shardsRemoved ? ' (shards removed)' : ''}\n`);
  process.stdout.write(`nonzeros per document: mean ${(c.docs ? c.nnzTotal / c.docs : 0).toFixed(1)}, min ${c.nnzMin ?? '-'}, max ${c.nnzMax ?? '-'}` +
    `${c.emptyVectors ? `; ${c.emptyVectors} empty vectors` : ''}\n`);
}
