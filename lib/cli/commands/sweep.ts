import * as fs from 'fs';
import * as path from 'path';

import type { Command } from 'commander';

import { integerValue, numberList } from '../option-values';

/**
 * `l0sparse sweep`: the ℓ0 ablation (lib/sweep/ablation.ts) — FLOPS only vs ℓ0 mask vs ℓ0 mask + ℓ0 activation over
 * λ, mask quantiles, k and seeds, on one or more BEIR folders; resumable point by point.
 */
export function register(program: Command): void {
  program.command('sweep')
    .description('the l0 ablation: FLOPS only (over λ), l0 mask (t at quantiles of the FLOPS-only model\'s document nonzeros), ' +
      'l0 mask + l0 activation (over k), each over seeds, on one or more BEIR folders; ablation.json, ablation.md and a Pareto plot per ' +
      'dataset. Rerun the same command to resume: finished points are kept')
    .option('--data <dirs...>', 'BEIR folders (default SciFact, as for `l0sparse demo`). A folder with qrels/train.tsv trains on it and tests on ' +
      'qrels/test.tsv; one with test qrels only is split 50/50 by query (--split-seed)')
    .option('--out <dir>', 'output folder', 'l0sparse-sweep')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt (default: the project\'s 8k SciFact WordPiece vocab)')
    .option('--steps <n>', 'training steps per point', '300')
    .option('--dim <d>', 'hidden size', '64')
    .option('--layers <n>', 'layers', '1')
    .option('--max-length <n>', 'max document tokens', '256')
    .option('--queries-per-step <n>', 'queries per step', '16')
    .option('--lr <x>', 'peak learning rate of every point (default the demo\'s)')
    .option('--init <dir>', 'start every point from this transformers masked-LM folder (e.g. `l0sparse pretrain`\'s model/)')
    .option('--pretrain-steps <n>', 'masked-LM pretraining steps on each dataset\'s corpus, once, before its points (0 = bag-of-words start)', '500')
    .option('--lambdas <list>', 'λ values (every family)', '0.001,0.01,0.03,0.1')
    .option('--quantiles <list>', 'shares of documents the l0 mask exempts (t at these quantiles of the FLOPS-only model\'s document nonzeros)', '0.25,0.5,0.75')
    .option('--ks <list>', 'activation counts of the l0-activation family (t at the middle quantile)', '1,2')
    .option('--seeds <list>', 'seeds of every point', '1,2,3')
    .option('--split-seed <n>', 'seed of the 50/50 query split of folders without train qrels', '13')
    .option('--max-corpus <n>', 'evaluate over at most n documents (every judged one plus the first others)')
    .option('--no-progress', 'no progress bars')
    .action(async (o: Record<string, unknown>) => {
      const { runAblation, formatAblationTable } = await import('../../sweep/ablation');
      const { dominance } = await import('../../sweep/ablation-chart');
      const { resolveScifact } = await import('../../demo/scifact-data');
      const s = (k: string) => String(o[k]);
      const dirs = (o.data as string[] | undefined) ?? [(await resolveScifact({ progress: o.progress !== false, log: (line) => process.stderr.write(`${line}\n`) })).dir];
      const datasets = dirs.map((dir) => ({
        name: path.basename(path.resolve(dir)), dir,
        split: fs.existsSync(path.join(dir, 'qrels', 'train.tsv')) ? 'given' as const : 'half' as const,
      }));
      const rows = await runAblation({
        datasets, out: s('out'), tokenizer: o.tokenizer as string | undefined,
        steps: integerValue(s('steps'), '--steps', 1), dim: integerValue(s('dim'), '--dim', 1), layers: integerValue(s('layers'), '--layers', 1),
        maxLength: integerValue(s('maxLength'), '--max-length', 1), queriesPerStep: integerValue(s('queriesPerStep'), '--queries-per-step', 1),
        lr: o.lr === undefined ? undefined : Number(o.lr), pretrainSteps: integerValue(s('pretrainSteps'), '--pretrain-steps', 0),
        init: o.init as string | undefined,
        lambdas: numberList(s('lambdas'), '--lambdas'), quantiles: numberList(s('quantiles'), '--quantiles'), ks: numberList(s('ks'), '--ks'),
        seeds: numberList(s('seeds'), '--seeds'), splitSeed: integerValue(s('splitSeed'), '--split-seed', 0),
        maxCorpus: o.maxCorpus === undefined ? undefined : integerValue(s('maxCorpus'), '--max-corpus', 1), progress: o.progress !== false,
      });
      for (const dataset of datasets) {
        const own = rows.filter((r) => r.dataset === dataset.name);
        process.stdout.write(`${dataset.name}\n${formatAblationTable(own)}\n${dominance(own).join('\n')}\n\n`);
      }
      process.stdout.write(`files: ${path.join(s('out'), 'ablation.json')}, ablation.md, ablation-<dataset>.png/.svg\n`);
    });
}
