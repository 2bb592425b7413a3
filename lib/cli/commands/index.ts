import * as fs from 'fs';
import type { Command } from 'commander';

import type { IndexWeights } from '../../index/sparse-index';

interface IndexCommandOptions {
  vectors: string;
  out: string;
  vocab?: string;
  prune?: string;
  onBadLine: string;
  weights: string;
  scale: string;
  shardDocs?: string;
  json?: boolean;
}

/** `l0sparse index`: document vectors (binary CSR or JSONL) -> saved inverted index. */
export function register(program: Command): void {
  program.command('index')
    .description('build an inverted index from document vectors (binary CSR file or JSONL {"id","vector"})')
    .requiredOption('--vectors <file>', 'document vectors: a binary CSR file, or JSONL with --vocab')
    .requiredOption('--out <file>', 'index file to write (atomically)')
    .option('--vocab <vocab.txt>', 'token list (line = column id) to read JSONL vectors')
    .option('--prune <type:value>', 'prune documents first: top_k:N, max_ratio:R, alpha_mass:A or abs_value:T')
    .option('--on-bad-line <fail|skip>', 'malformed JSONL lines: fail, or skip and report them', 'fail')
    .option('--weights <float32|uint16|uint8>', 'weight storage: exact float32, or quantized impacts (smaller, approximate scores)', 'float32')
    .option('--scale <term|global>', 'quantized weights: one scale per term or one for the index', 'term')
    .option('--shard-docs <n>', 'write shards of n documents each: <out>.0, <out>.1, ... (search them with --index <out>.*)')
    .option('--json', 'print JSON')
    .action(async (opts: IndexCommandOptions) => {
      const { streamVectorFile } = await import('../../sparse/vector-files');
      const { SparseIndex } = await import('../../index/sparse-index');
      const { sliceCsrRows } = await import('../../index/shards');
      const { parsePruneSpec, pruneCsr } = await import('../../sparse/prune');
      if (opts.onBadLine !== 'fail' && opts.onBadLine !== 'skip') throw new Error(`--on-bad-line must be fail or skip, got '${opts.onBadLine}'`);
      if (!['float32', 'uint16', 'uint8'].includes(opts.weights)) throw new Error(`--weights must be float32, uint16 or uint8, got '${opts.weights}'`);
      if (opts.scale !== 'term' && opts.scale !== 'global') throw new Error(`--scale must be term or global, got '${opts.scale}'`);
      const prune = opts.prune ? parsePruneSpec(opts.prune) : null;
      const shardDocs = opts.shardDocs === undefined ? Infinity : Number(opts.shardDocs);
      if (opts.shardDocs !== undefined && !(Number.isInteger(shardDocs) && shardDocs >= 1))
        throw new Error(`--shard-docs must be a positive integer, got '${opts.shardDocs}'`);
      const t0 = process.hrtime.bigint();
      // Batch by batch, so the corpus is never held twice (once as vectors, once as postings).
      const file = await streamVectorFile(opts.vectors, { vocab: opts.vocab, onBadLine: opts.onBadLine });
      const outputs: string[] = [];
      const totals = { docs: 0, postings: 0, postingBytes: 0, fileBytes: 0 };
      let index = new SparseIndex(file.numCols);
      let inShard = 0;
      const finishShard = async (): Promise<void> => {
        await index.build();
        const out = Number.isFinite(shardDocs) ? `${opts.out}.${outputs.length}` : opts.out;
        await index.save(out, { weights: opts.weights as IndexWeights, scale: opts.scale as 'term' | 'global' });
        const s = index.stats();
        totals.docs += s.docs;
        totals.postings += s.postings;
        totals.postingBytes += s.postingBytes;
        totals.fileBytes += fs.statSync(out).size;
        outputs.push(out);
      };
      let skipped = 0;
      for await (const batch of file.batches) {
        for (const s of batch.skipped) process.stderr.write(`l0sparse: skipped ${opts.vectors}:${s.line}: ${s.reason}\n`);
        skipped += batch.skipped.length;
        const csr = prune ? await pruneCsr(batch.csr, prune) : batch.csr;
        const rows = batch.ids.length;
        for (let start = 0; start < rows;) {
          const end = Math.min(rows, start + (shardDocs - inShard));
          index.add(start === 0 && end === rows ? csr : sliceCsrRows(csr, start, end), batch.ids.slice(start, end));
          inShard += end - start;
          start = end;
          if (inShard === shardDocs) {
            await finishShard();
            index = new SparseIndex(file.numCols);
            inShard = 0;
          }
        }
      }
      if (inShard > 0 || outputs.length === 0) await finishShard();
      const { fileBytes, ...stats } = totals;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const report = { out: opts.out, shards: Number.isFinite(shardDocs) ? outputs : undefined, format: file.format, skippedLines: skipped,
        prune, seconds, docs: stats.docs, postings: stats.postings, postingBytes: stats.postingBytes,
        weights: opts.weights, fileBytes, fileBytesPerPosting: stats.postings ? fileBytes / stats.postings : 0 };
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else {
        process.stdout.write(`indexed ${stats.docs} documents, ${stats.postings} postings ` +
          `(${opts.weights} weights, file ${(fileBytes / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(2)} s -> ${outputs.join(' ')}\n`);
        if (skipped) process.stdout.write(`skipped ${skipped} bad lines (listed on stderr)\n`);
      }
    });
}
