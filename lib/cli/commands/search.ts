import type { Command } from 'commander';

interface SearchCommandOptions {
  index: string[];
  queries: string;
  vocab?: string;
  k: string;
  out?: string;
  tag: string;
  onBadLine: string;
  json?: boolean;
}

/** `l0sparse search`: exact top-k of query vectors against a saved index, as a TREC run. */
export function register(program: Command): void {
  program.command('search')
    .description('exact top-k search of query vectors (binary CSR or JSONL {"id","vector"}) in a saved index')
    .requiredOption('--index <files...>', 'index written by `l0sparse index`, or its shard files (--shard-docs), in order: top-k merged exactly')
    .requiredOption('--queries <file>', 'query vectors: a binary CSR file, or JSONL with --vocab')
    .option('--vocab <vocab.txt>', 'token list (line = column id) to read JSONL vectors')
    .option('--k <n>', 'hits per query', '10')
    .option('--out <file>', 'TREC run file to write (default: stdout)')
    .option('--tag <name>', 'run tag in the TREC file', 'l0sparse')
    .option('--on-bad-line <fail|skip>', 'malformed JSONL lines: fail, or skip and report them', 'fail')
    .option('--json', 'print a JSON summary (with --out)')
    .action(async (opts: SearchCommandOptions) => {
      const { writeFileAtomic } = await import('../../io');
      const { readVectorFile } = await import('../../sparse/vector-files');
      const { ShardedIndex } = await import('../../index/shards');
      const { formatTrecRunLines } = await import('../../data/trec');
      const { getNumThreads } = await import('../../native/threads');
      const k = Number(opts.k);
      if (!Number.isInteger(k) || k < 1) throw new Error(`--k must be a positive integer, got '${opts.k}'`);
      if (opts.onBadLine !== 'fail' && opts.onBadLine !== 'skip') throw new Error(`--on-bad-line must be fail or skip, got '${opts.onBadLine}'`);
      const index = await ShardedIndex.load(opts.index);
      const queries = await readVectorFile(opts.queries, { vocab: opts.vocab, onBadLine: opts.onBadLine });
      for (const s of queries.skipped) process.stderr.write(`l0sparse: skipped ${opts.queries}:${s.line}: ${s.reason}\n`);
      if (queries.csr.numCols !== index.numCols)
        throw new Error(`the queries have ${queries.csr.numCols} columns but the index has ${index.numCols} (same vocabulary?)`);
      const t0 = process.hrtime.bigint();
      const result = await index.search(queries.csr, k);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const ids = result.ids();
      let text = '';
      queries.ids.forEach((qid, q) => {
        text += formatTrecRunLines(qid, ids[q].map((docId, i) => ({ docId, score: result.scores[q * k + i] })), opts.tag);
      });
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      writeFileAtomic(opts.out, text);
      const summary = { out: opts.out, shards: opts.index.length, queries: queries.ids.length, k, threads: getNumThreads(), seconds, queriesPerSecond: queries.ids.length / seconds };
      if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else process.stdout.write(`searched ${summary.queries} queries (k = ${k}, ${summary.threads} threads) in ${seconds.toFixed(3)} s -> ${opts.out}\n`);
    });
}
