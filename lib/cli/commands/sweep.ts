import type { Command } from 'commander';

function list(v: string, name: string): number[] {
  const xs = v.split(',').filter((s) => s.trim() !== '').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isFinite(x))) throw new Error(`${name} must be a comma-separated list of numbers (empty: skip that family), got '${v}'`);
  return xs;
}

function int(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/** `l0sparse sweep`: λ, threshold and activation-count grids (FLOPS only / ℓ0 mask / ℓ0 mask + ℓ0 activation). */
export function register(program: Command): void {
  program.command('sweep')
    .description('the paper\'s grids at small scale on SciFact: λ (FLOPS only), threshold t (l0 mask), activation count k (l0 mask + l0 activation); Pareto plot + table')
    .option('--data <dir>', 'BEIR SciFact folder (default as for `l0sparse demo`)')
    .option('--out <dir>', 'output folder', 'l0sparse-sweep')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt (default: the project\'s 8k SciFact WordPiece vocab)')
    .option('--steps <n>', 'training steps per point', '60')
    .option('--dim <d>', 'hidden size', '64')
    .option('--layers <n>', 'layers', '1')
    .option('--max-length <n>', 'max document tokens', '256')
    .option('--queries-per-step <n>', 'queries per step', '16')
    .option('--lambdas <list>', 'λ values of the FLOPS-only family', '0.001,0.01,0.05')
    .option('--thresholds <list>', 't values of the l0-mask family', '50,200')
    .option('--ks <list>', 'activation counts of the l0-activation family', '1,2')
    .option('--lambda <x>', 'λ of the l0 families', '0.01')
    .option('--threshold <t>', 't of the l0-activation family', '200')
    .option('--max-corpus <n>', 'evaluate over at most n documents (every judged one plus the first others)')
    .option('--no-progress', 'no progress bars')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const { runSweep, formatSweepTable } = await import('../../sweep/run-sweep');
      const s = (k: string) => String(o[k]);
      const r = await runSweep({
        data: o.data as string | undefined, out: s('out'), tokenizer: o.tokenizer as string | undefined,
        steps: int(s('steps'), '--steps'), dim: int(s('dim'), '--dim'), layers: int(s('layers'), '--layers'),
        maxLength: int(s('maxLength'), '--max-length'), queriesPerStep: int(s('queriesPerStep'), '--queries-per-step'),
        lambdas: list(s('lambdas'), '--lambdas'), thresholds: list(s('thresholds'), '--thresholds'), ks: list(s('ks'), '--ks'),
        lambda: Number(s('lambda')), threshold: Number(s('threshold')),
        maxCorpus: o.maxCorpus === undefined ? undefined : int(s('maxCorpus'), '--max-corpus'), progress: o.progress !== false,
      });
      process.stdout.write(formatSweepTable(r) + '\n');
      process.stdout.write(`${r.points.length} points in ${r.seconds.toFixed(0)} s; files: ${Object.values(r.files).join(', ')}\n`);
    });
}
