import type { Command } from 'commander';

interface IndexCommandOptions {
  vectors: string;
  out: string;
  vocab?: string;
  prune?: string;
  onBadLine: string;
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
    .option('--json', 'print JSON')
    .action(async (opts: IndexCommandOptions) => {
      const { streamVectorFile } = await import('../../index/vector-files');
      const { SparseIndex } = await import('../../index/sparse-index');
      const { parsePruneSpec, pruneCsr } = await import('../../sparse/prune');
      if (opts.onBadLine !== 'fail' && opts.onBadLine !== 'skip') throw new Error(`--on-bad-line must be fail or skip, got '${opts.onBadLine}'`);
      const prune = opts.prune ? parsePruneSpec(opts.prune) : null;
      const t0 = process.hrtime.bigint();
      // Batch by batch, so the corpus is never held twice (once as vectors, once as postings).
      const file = await streamVectorFile(opts.vectors, { vocab: opts.vocab, onBadLine: opts.onBadLine });
      const index = new SparseIndex(file.numCols);
      let skipped = 0;
      for await (const batch of file.batches) {
        for (const s of batch.skipped) process.stderr.write(`l0sparse: skipped ${opts.vectors}:${s.line}: ${s.reason}\n`);
        skipped += batch.skipped.length;
        index.add(prune ? await pruneCsr(batch.csr, prune) : batch.csr, batch.ids);
      }
      await index.build();
      await index.save(opts.out);
      const stats = index.stats();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const report = { out: opts.out, format: file.format, skippedLines: skipped, prune, seconds, ...stats };
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else {
        process.stdout.write(`indexed ${stats.docs} documents, ${stats.postings} postings over ${stats.terms} terms ` +
          `(${(stats.bytes / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(2)} s -> ${opts.out}\n`);
        if (skipped) process.stdout.write(`skipped ${skipped} bad lines (listed on stderr)\n`);
      }
    });
}
