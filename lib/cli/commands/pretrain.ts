import type { Command } from 'commander';

import { normalizePretrainConfig, PRETRAIN_DEFAULTS, runPretraining, type PretrainConfig } from '../../train/pretrain';
import { integerValue, numberValue } from '../option-values';

interface PretrainCommandOptions {
  text: string[];
  out: string;
  init?: string;
  tokenizer?: string;
  architecture: string;
  dim: string;
  layers: string;
  heads?: string;
  intermediate?: string;
  maxPositions: string;
  bagOfWords?: boolean;
  steps: string;
  batchSize: string;
  maxLength: string;
  mlmProbability: string;
  lr: string;
  warmupSteps?: string;
  weightDecay: string;
  bf16?: boolean;
  checkpointEvery: string;
  seed: string;
  device?: string;
  progress: boolean;
  json?: boolean;
}

function configFrom(o: PretrainCommandOptions): PretrainConfig {
  const dim = integerValue(o.dim, '--dim', 1);
  if (o.architecture !== 'bert' && o.architecture !== 'distilbert') throw new Error(`--architecture must be bert or distilbert, got '${o.architecture}'`);
  return normalizePretrainConfig({
    text: o.text, output: o.out, tokenizer: o.tokenizer,
    init: o.init ?? {
      architecture: o.architecture, hiddenSize: dim, numLayers: integerValue(o.layers, '--layers', 1),
      numHeads: o.heads ? integerValue(o.heads, '--heads', 1) : Math.max(1, Math.floor(dim / 32)),
      intermediateSize: o.intermediate ? integerValue(o.intermediate, '--intermediate', 1) : 4 * dim,
      maxPositions: integerValue(o.maxPositions, '--max-positions', 3), bagOfWords: o.bagOfWords === true,
    },
    steps: integerValue(o.steps, '--steps', 1), batchSize: integerValue(o.batchSize, '--batch-size', 1),
    maxLength: integerValue(o.maxLength, '--max-length', 3), mlmProbability: numberValue(o.mlmProbability, '--mlm-probability'),
    lr: numberValue(o.lr, '--lr'), warmupSteps: o.warmupSteps === undefined ? undefined : integerValue(o.warmupSteps, '--warmup-steps', 0),
    weightDecay: numberValue(o.weightDecay, '--weight-decay'), bf16: o.bf16 === true,
    checkpointEvery: integerValue(o.checkpointEvery, '--checkpoint-every', 1), seed: integerValue(o.seed, '--seed', 0),
    device: o.device,
  });
}

/** `l0sparse pretrain`: in-domain masked-LM pretraining of the encoder before sparse training (lib/train/pretrain.ts). */
export function register(program: Command): void {
  const d = PRETRAIN_DEFAULTS;
  program.command('pretrain')
    .description('masked-LM pretraining of the document encoder on your own text (resumes from the newest checkpoint in --out); ' +
      'the result, <out>/model, is the `init` of `l0sparse train`')
    .requiredOption('--text <paths...>', 'BEIR folders (their corpus.jsonl), .jsonl files ({"text", "title"?} per line) or text files (one document per line)')
    .requiredOption('--out <dir>', 'run folder: model/, checkpoints/, pretrain-log.jsonl, pretrain-curve.svg')
    .option('--init <dir>', 'a transformers model folder to continue from (default: a random model of the shape below)')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt (default: the --init folder\'s)')
    .option('--architecture <bert|distilbert>', 'random model: architecture', 'bert')
    .option('--dim <d>', 'random model: hidden size', '64')
    .option('--layers <n>', 'random model: transformer layers', '1')
    .option('--heads <n>', 'random model: attention heads (default dim/32)')
    .option('--intermediate <n>', 'random model: feed-forward size (default 4·dim)')
    .option('--max-positions <n>', 'random model: position embeddings', '512')
    .option('--bag-of-words', 'random model: start from the bag-of-words initialisation (as `train` does) instead of plain random weights')
    .option('--steps <n>', 'optimizer steps', String(d.steps))
    .option('--batch-size <n>', 'text windows per step', String(d.batchSize))
    .option('--max-length <n>', 'window length in tokens ([CLS] and [SEP] included); longer documents are cut into several windows', String(d.maxLength))
    .option('--mlm-probability <p>', 'share of tokens predicted (80% become [MASK], 10% a random token, 10% stay)', String(d.mlmProbability))
    .option('--lr <x>', 'peak learning rate (linear warm-up, then linear decay to 0)', String(d.lr))
    .option('--warmup-steps <n>', 'learning-rate warm-up steps (default 6% of --steps)')
    .option('--weight-decay <x>', 'AdamW weight decay (not on biases and LayerNorms)', String(d.weightDecay))
    .option('--bf16', 'bfloat16 autocast')
    .option('--checkpoint-every <n>', 'steps between checkpoints', String(d.checkpointEvery))
    .option('--seed <n>', 'seed of the model, the window order and the masks', String(d.seed))
    .option('--device <cpu|cuda|cuda:N>', 'where the model trains (default cpu)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(async (opts: PretrainCommandOptions) => {
      const config = configFrom(opts);
      const result = await runPretraining(config, { progress: opts.progress });
      if (opts.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const m = result.lastMetrics;
      process.stdout.write(`pretrained ${result.steps} steps on ${result.windows} windows of ${result.texts} texts in ${result.seconds.toFixed(1)} s` +
        (result.resumedFrom ? ` (resumed from step ${result.resumedFrom})` : '') +
        (m ? `; last step: loss ${m.loss.toFixed(4)}, accuracy ${m.accuracy.toFixed(3)}` : '') + '\n' +
        (result.modelDir ? `model: ${result.modelDir} (use it as \`init\` of l0sparse train, or --init of l0sparse demo)\n` : ''));
    });
}
