import type { Command } from 'commander';

import { integerValue, numberList } from '../option-values';

/** `l0sparse sweep`: λ, threshold and activation-count grids (FLOPS only / ℓ0 mask / ℓ0 mask + ℓ0 activation). */
export function register(program: Command): void {
  program.command('sweep')
    .description('the paper\'s grids at small scale on SciFact (or another BEIR folder): λ (FLOPS only), threshold t (l0 mask), activation count k (l0 mask + l0 activation); Pareto plot + table')
    .option('--data <dir>', 'BEIR folder with train and test qrels (default SciFact, as for `l0sparse demo`)')
    .option('--name <name>', 'the dataset\'s name in the plot and table (default: the --data folder\'s name; SciFact without --data)')
    .option('--out <dir>', 'output folder', 'l0sparse-sweep')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt (default: the project\'s 8k SciFact WordPiece vocab)')
    .option('--steps <n>', 'training steps per point', '60')
    .option('--dim <d>', 'hidden size', '64')
    .option('--layers <n>', 'layers', '1')
    .option('--max-length <n>', 'max document tokens', '256')
    .option('--queries-per-step <n>', 'queries per step', '16')
    .option('--warmup-steps <n>', 'learning-rate warm-up steps of every point (default 10% of --steps)')
    .option('--lambda-warmup <n>', 'steps of the quadratic λ warm-up of every point (default 50% of --steps)')
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
        data: o.data as string | undefined, name: o.name as string | undefined, out: s('out'), tokenizer: o.tokenizer as string | undefined,
        steps: integerValue(s('steps'), '--steps', 1), dim: integerValue(s('dim'), '--dim', 1), layers: integerValue(s('layers'), '--layers', 1),
        maxLength: integerValue(s('maxLength'), '--max-length', 1), queriesPerStep: integerValue(s('queriesPerStep'), '--queries-per-step', 1),
        warmupSteps: o.warmupSteps === undefined ? undefined : integerValue(s('warmupSteps'), '--warmup-steps', 0),
        lambdaWarmup: o.lambdaWarmup === undefined ? undefined : integerValue(s('lambdaWarmup'), '--lambda-warmup', 0),
        lambdas: numberList(s('lambdas'), '--lambdas'), thresholds: numberList(s('thresholds'), '--thresholds'), ks: numberList(s('ks'), '--ks'),
        lambda: Number(s('lambda')), threshold: Number(s('threshold')),
        maxCorpus: o.maxCorpus === undefined ? undefined : integerValue(s('maxCorpus'), '--max-corpus', 1), progress: o.progress !== false,
      });
      process.stdout.write(formatSweepTable(r) + '\n');
      process.stdout.write(`${r.points.length} points in ${r.seconds.toFixed(0)} s; files: ${Object.values(r.files).join(', ')}\n`);
    });
}
