import type { Command } from 'commander';

/** `l0sparse check-index`: full verification of saved index files (as Lucene's CheckIndex). */
export function register(program: Command): void {
  program.command('check-index')
    .description('verify index files completely: every checksum, every block, ids unique (search opens them lazily)')
    .argument('<files...>', 'index files (shards too)')
    .option('--json', 'print JSON')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { SparseIndex } = await import('../../index/sparse-index');
      const results: { file: string; ok: boolean; seconds: number; docs?: number; postings?: number; error?: string }[] = [];
      for (const file of files) {
        const t0 = process.hrtime.bigint();
        try {
          const s = (await SparseIndex.load(file, { verify: 'full' })).stats();
          results.push({ file, ok: true, seconds: Number(process.hrtime.bigint() - t0) / 1e9, docs: s.docs, postings: s.postings });
        } catch (e) {
          results.push({ file, ok: false, seconds: Number(process.hrtime.bigint() - t0) / 1e9, error: (e as Error).message });
        }
      }
      if (opts.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      else for (const r of results)
        process.stdout.write(r.ok ? `ok       ${r.file}: ${r.docs} documents, ${r.postings} postings (${r.seconds.toFixed(2)} s)\n` : `DAMAGED  ${r.error}\n`);
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
