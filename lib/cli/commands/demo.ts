import type { Command } from 'commander';

import type { DemoOptions } from '../../demo/run-demo';
import { integerValue, numberValue } from '../option-values';

/** `l0sparse demo`: train a small ℓ0 model on SciFact (or another BEIR folder) here, evaluate it next to BM25, print a table, write JSON + plots. */
export function register(program: Command): void {
  program.command('demo')
    .description('SciFact end to end: IDF, train a small l0 model from scratch, encode, index, evaluate next to BM25; table + JSON + PNG plot')
    .option('--data <dir>', 'BEIR folder with train and test qrels (default SciFact: ../shared/data/scifact if present, else download the BEIR zip once into ~/.cache/l0sparse or $L0SPARSE_CACHE)')
    .option('--name <name>', 'the dataset\'s name in titles, tables and JSON (default: the --data folder\'s name; SciFact without --data)')
    .option('--out <dir>', 'output folder (run, model, indexes, demo.json, demo.md, plots)', 'l0sparse-demo')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt (default: the project\'s 8k WordPiece vocab trained on SciFact)')
    .option('--init <dir>', 'start from this transformers masked-LM folder (e.g. the model/ of `l0sparse pretrain`) instead of a random bag-of-words model; its tokenizer is used unless --tokenizer is given')
    .option('--pretrain-steps <n>', 'masked-LM pretraining steps on the corpus before sparse training (0 = start as a bag of words)', '500')
    .option('--pretrain-lr <x>', 'peak learning rate of that pretraining', '1e-3')
    .option('--steps <n>', 'training steps', '300')
    .option('--dim <d>', 'hidden size', '64')
    .option('--layers <n>', 'transformer layers', '1')
    .option('--heads <n>', 'attention heads (default dim/32)')
    .option('--max-length <n>', 'max document tokens', '256')
    .option('--queries-per-step <n>', 'queries per step (each with a positive and hard negatives)', '16')
    .option('--negatives <n>', 'BM25 hard negatives per query', '1')
    .option('--title-pairs', 'also train on self-supervised (title → body) pairs of the corpus, with BM25 hard negatives')
    .option('--loss <info_nce|kl>', 'info_nce (in-batch + hard negatives) or kl (BM25 scores as teacher)', 'info_nce')
    .option('--lr <x>', 'peak learning rate', '1e-3')
    .option('--warmup-steps <n>', 'learning-rate warm-up steps (default 10% of --steps)')
    .option('--lambda <x>', 'FLOPS regularizer weight', '0.01')
    .option('--lambda-warmup <n>', 'steps of the quadratic λ warm-up (default 50% of --steps)')
    .option('--threshold <t>', 'l0 mask threshold (docs with <= t nonzeros are not regularized; < 0: plain FLOPS)', '200')
    .option('--activation <relu|l0>', 'document activation', 'l0')
    .option('--k <n>', 'extra log1p count of the l0 activation', '1')
    .option('--no-bag-of-words', 'with --pretrain-steps 0: plain random initialisation instead of the bag-of-words start')
    .option('--eval-every <n>', 'held-out training-curve point every n steps (0 = none)', '0')
    .option('--hold-out <n>', 'train queries held out for the curve', '50')
    .option('--curve-corpus <n>', 'documents searched for the curve', '1000')
    .option('--bf16', 'bfloat16 autocast in training (CPU)')
    .option('--seed <n>', 'seed', '42')
    .option('--no-progress', 'no progress bars')
    .option('--json', 'print the result JSON instead of the table')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const { runDemo, formatDemoTable, demoHeading } = await import('../../demo/run-demo');
      if (o.loss !== 'info_nce' && o.loss !== 'kl') throw new Error(`--loss must be info_nce or kl, got '${o.loss}'`);
      if (o.activation !== 'relu' && o.activation !== 'l0') throw new Error(`--activation must be relu or l0, got '${o.activation}'`);
      const s = (k: string) => String(o[k]);
      const options: DemoOptions = {
        data: o.data as string | undefined, name: o.name as string | undefined, out: s('out'), tokenizer: o.tokenizer as string | undefined,
        init: o.init as string | undefined, titlePairs: o.titlePairs === true,
        pretrainSteps: integerValue(s('pretrainSteps'), '--pretrain-steps', 0), pretrainLr: numberValue(s('pretrainLr'), '--pretrain-lr'),
        steps: integerValue(s('steps'), '--steps'), dim: integerValue(s('dim'), '--dim'), layers: integerValue(s('layers'), '--layers'),
        heads: o.heads === undefined ? undefined : integerValue(s('heads'), '--heads'), maxLength: integerValue(s('maxLength'), '--max-length'),
        queriesPerStep: integerValue(s('queriesPerStep'), '--queries-per-step'), negatives: integerValue(s('negatives'), '--negatives'),
        loss: o.loss, lr: numberValue(s('lr'), '--lr'), lambda: numberValue(s('lambda'), '--lambda'), threshold: numberValue(s('threshold'), '--threshold'),
        warmupSteps: o.warmupSteps === undefined ? undefined : integerValue(s('warmupSteps'), '--warmup-steps', 0),
        lambdaWarmup: o.lambdaWarmup === undefined ? undefined : integerValue(s('lambdaWarmup'), '--lambda-warmup', 0),
        activation: o.activation, k: integerValue(s('k'), '--k'), bagOfWords: o.bagOfWords !== false,
        evalEvery: integerValue(s('evalEvery'), '--eval-every'), holdOut: integerValue(s('holdOut'), '--hold-out'),
        curveCorpus: integerValue(s('curveCorpus'), '--curve-corpus'), seed: integerValue(s('seed'), '--seed'),
        bf16: o.bf16 === true, progress: o.progress !== false,
      };
      const result = await runDemo(options);
      if (o.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      process.stdout.write(`\n${demoHeading(result.data)}\n\n`);
      process.stdout.write(formatDemoTable(result.rows) + '\n\n');
      process.stdout.write(`time: ${Object.entries(result.seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}\n`);
      process.stdout.write(`files: ${Object.values(result.files).join(', ')}\n`);
    });
}
