/**
 * In-domain masked-LM pretraining (`l0sparse pretrain`, docs/METHOD.md §8): the encoder learns to predict masked
 * tokens of the collection's own text before sparse training, so that its MLM head — the SPLADE head — knows
 * which terms go together (the expansion terms ℓ0 sparsification then prunes). Native steps (the training
 * step's optimizer, schedule and clipping), checkpoints and resumption as in `train`: batches and masks are a
 * pure function of (seed, step), so a resumed run reaches the parameters of an uninterrupted one.
 * Output: <output>/model (a transformers masked-LM folder with the tokenizer: `init` of a training run),
 * pretrain-log.jsonl, pretrain-curve.svg/.png, checkpoints/.
 */
import * as fs from 'fs';
import * as path from 'path';

import { startProgress, withAtomicDir } from '../io';
import type { NativeMlmModel } from '../model/native-model';
import { writeTokenizerFiles } from '../model/tokenizer-files';
import { getNumThreads, setNumThreads } from '../native/threads';
import { padRows } from '../tokenizer/padding';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { listCheckpoints, resumeFromCheckpoint, saveCheckpoint } from './checkpoints';
import type { RandomInit } from './config';
import { initialModel } from './initial-model';
import { maskForMlm } from './mlm-masking';
import { NativeTrainer, type MlmMetrics } from './native-trainer';
import { pinConfigFile } from './pinned-config';
import { pretrainWindows, readPretrainTexts } from './pretrain-corpus';
import { GroupSchedule, mulberry32 } from './schedule';
import { resolveScheduleLengths } from './schedule-lengths';

export interface PretrainConfig {
  /** Text sources: BEIR folders, .jsonl files ({"text", "title"?}) or text files (one document per line). */
  text: string[];
  /** Run folder: checkpoints/, pretrain-log.jsonl, model/. */
  output: string;
  /** A transformers model folder to continue from, or a random initialisation. */
  init: string | RandomInit;
  /** tokenizer.json or vocab.txt; default: the init folder's. */
  tokenizer?: string;
  steps: number;
  /** Windows per step. */
  batchSize: number;
  /** Window length in tokens, [CLS] and [SEP] included. */
  maxLength: number;
  /** Share of tokens predicted (BERT: 0.15). */
  mlmProbability: number;
  lr: number;
  /** Learning-rate warm-up; default 6% of the steps (the paper's fraction, as in `train`). */
  warmupSteps?: number;
  weightDecay: number;
  maxGradNorm: number;
  bf16: boolean;
  checkpointEvery: number;
  keepCheckpoints: number;
  seed: number;
  threads?: number;
  /** 'cpu' (default) or 'cuda[:N]'; not pinned: a run may resume on another device. */
  device?: string;
}

export const PRETRAIN_DEFAULTS = Object.freeze({
  steps: 1000, batchSize: 32, maxLength: 128, mlmProbability: 0.15, lr: 1e-4, weightDecay: 0.01, maxGradNorm: 1.0,
  bf16: false, checkpointEvery: 200, keepCheckpoints: 2, seed: 42,
});

export interface PretrainOptions {
  /** Progress bar on stderr (TTY only). Default true. */
  progress?: boolean;
  onStep?: (metrics: MlmMetrics) => void;
  /** Stop (without the final save) after this many optimizer steps: for tests of resumption. */
  stopAfterStep?: number;
}

export interface PretrainResult {
  steps: number;
  resumedFrom: number;
  /** The final model folder, or null when the run stopped early. */
  modelDir: string | null;
  windows: number;
  texts: number;
  lastMetrics: MlmMetrics | null;
  seconds: number;
  device: string;
}

/** Checks a config (every field, with the failing key named) and fills in the defaults. */
export function normalizePretrainConfig(raw: Partial<PretrainConfig> & Pick<PretrainConfig, 'text' | 'output' | 'init'>): PretrainConfig {
  const c: PretrainConfig = { ...PRETRAIN_DEFAULTS, ...raw } as PretrainConfig;
  const int = (key: keyof PretrainConfig, lo: number) => {
    const v = c[key];
    if (!Number.isInteger(v) || (v as number) < lo) throw new RangeError(`pretrain: '${key}' must be an integer ≥ ${lo}, got ${String(v)}`);
  };
  for (const key of ['steps', 'batchSize', 'checkpointEvery', 'keepCheckpoints'] as const) int(key, 1);
  int('maxLength', 3);
  int('seed', 0);
  if (c.warmupSteps !== undefined) int('warmupSteps', 0);
  if (c.threads !== undefined) int('threads', 1);
  if (!(c.mlmProbability > 0 && c.mlmProbability < 1)) throw new RangeError(`pretrain: 'mlmProbability' must be in (0, 1), got ${c.mlmProbability}`);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new RangeError(`pretrain: 'lr' must be a positive number, got ${c.lr}`);
  if (!(c.weightDecay >= 0)) throw new RangeError(`pretrain: 'weightDecay' must be ≥ 0, got ${c.weightDecay}`);
  if (!(c.maxGradNorm >= 0)) throw new RangeError(`pretrain: 'maxGradNorm' must be ≥ 0, got ${c.maxGradNorm}`);
  if (!Array.isArray(c.text) || c.text.length === 0) throw new RangeError("pretrain: 'text' needs at least one source");
  if (typeof c.init !== 'string' && !c.tokenizer) throw new RangeError("pretrain: a random 'init' needs a 'tokenizer'");
  return c;
}

/** Runs (or resumes) masked-LM pretraining; the process's thread count is restored on return. */
export async function runPretraining(raw: PretrainConfig, opts: PretrainOptions = {}): Promise<PretrainResult> {
  const config = normalizePretrainConfig(raw);
  const threadsBefore = config.threads ? getNumThreads() : 0;
  try {
    if (config.threads) setNumThreads(config.threads);
    return await pretrainToCompletion(config, opts);
  } finally {
    if (threadsBefore) setNumThreads(threadsBefore);
  }
}

async function pretrainToCompletion(config: PretrainConfig, opts: PretrainOptions): Promise<PretrainResult> {
  const t0 = Date.now();
  const { device: where, ...pinned } = config;
  pinConfigFile(config.output, 'pretrain-config.json', JSON.stringify(pinned, null, 2) + '\n');
  const tokenizer = config.tokenizer ? TextTokenizer.fromFile(config.tokenizer) : TextTokenizer.fromDir(config.init as string);
  const maskId = tokenizer.specialId('[MASK]');
  if (maskId === undefined) throw new Error('pretrain: the tokenizer has no [MASK] token');
  const texts = await readPretrainTexts(config.text);
  const windows = await pretrainWindows(texts, tokenizer, config.maxLength);
  const model = await initialModel(config, tokenizer, where ?? 'cpu');
  const schedule = resolveScheduleLengths(config.steps, { warmupSteps: config.warmupSteps });
  for (const warning of schedule.warnings) process.stderr.write(`l0sparse: warning: ${warning.replace(/^step\./, '')}\n`);
  const trainer = NativeTrainer.create(model, {
    lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm, bf16: config.bf16, seed: config.seed,
    totalSteps: config.steps, warmupSteps: schedule.lengths.warmupSteps,
  });
  const resumedFrom = await resumeFromCheckpoint(trainer, config.output);
  const order = new GroupSchedule(windows.length, config.seed);
  const padId = tokenizer.specialId('[PAD]') ?? 0;
  const log = fs.openSync(path.join(config.output, 'pretrain-log.jsonl'), 'a');
  const bar = startProgress('pretrain', config.steps, opts.progress !== false, { unit: 'steps', initial: resumedFrom, fields: { loss: '-', acc: '-' } });
  let step = resumedFrom;
  let last: MlmMetrics | null = null;
  try {
    while (step < config.steps && (opts.stopAfterStep === undefined || step < opts.stopAfterStep)) {
      const docs = padRows(order.batch(step, config.batchSize).map((i) => windows[i]), padId);
      const batch = maskForMlm(docs, {
        probability: config.mlmProbability, maskId, vocabSize: tokenizer.vocabSize, isSpecial: (id) => tokenizer.isSpecial(id),
        random: mulberry32((config.seed * 0x9e3779b1 + step) >>> 0),
      });
      try {
        last = await trainer.mlmStep(batch);
      } catch (e) {
        const good = listCheckpoints(config.output).at(-1);
        throw new Error(`pretraining stopped at step ${step}: ${(e as Error).message}` +
          (good ? `\nThe newest checkpoint is ${good.dir} (step ${good.step}).` : ''));
      }
      step = last.step;
      fs.writeSync(log, JSON.stringify(last) + '\n');
      opts.onStep?.(last);
      bar.update(step, { loss: last.loss.toFixed(3), acc: last.accuracy.toFixed(3) });
      if (step % config.checkpointEvery === 0 || step === config.steps) {
        await saveCheckpoint(trainer, config.output, step, config.keepCheckpoints, last);
      }
    }
  } finally {
    bar.stop();
    fs.closeSync(log);
  }
  let modelDir: string | null = null;
  const device = model.device;
  try {
    if (step >= config.steps) {
      modelDir = await saveModel(config, model, tokenizer);
      await writeCurve(config.output);
    }
  } finally {
    model.dispose();  // the weights are in model/ now; free them before the caller (e.g. the demo) loads its next model
  }
  return { steps: step, resumedFrom, modelDir, windows: windows.length, texts: texts.length, lastMetrics: last,
    seconds: (Date.now() - t0) / 1000, device };
}

/** The pretrained encoder as a transformers masked-LM folder with its tokenizer, swapped in whole. */
async function saveModel(config: PretrainConfig, model: NativeMlmModel, tokenizer: TextTokenizer): Promise<string> {
  const dir = path.join(config.output, 'model');
  await withAtomicDir(dir, async (tmp) => {
    await model.save(tmp);
    writeTokenizerFiles(tmp, tokenizer, { maxLength: config.maxLength });
  });
  return dir;
}

/** Loss and accuracy per step (means over 20-step windows) from the log: pretrain-curve.svg / .png. */
async function writeCurve(output: string): Promise<void> {
  const rows = fs.readFileSync(path.join(output, 'pretrain-log.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((line) => JSON.parse(line) as MlmMetrics);
  const byStep = new Map(rows.map((r) => [r.step, r]));  // a resumed run logs the redone steps again: keep the last
  const steps = [...byStep.values()].sort((a, b) => a.step - b.step);
  const width = Math.max(1, Math.round(steps.length / 100));
  const points = [];
  for (let i = 0; i < steps.length; i += width) {
    const part = steps.slice(i, i + width);
    const mean = (f: (m: MlmMetrics) => number) => part.reduce((s, m) => s + f(m), 0) / part.length;
    const step = part.at(-1)!.step;
    points.push({ step, value: mean((m) => m.loss), series: 'masked-LM loss' });
    points.push({ step, value: mean((m) => m.accuracy) * 10, series: 'accuracy × 10' });
  }
  // Loaded here, not at the top: the chart renderer is a native package, and `l0sparse` commands that never plot
  // (e.g. `info` on a platform without it) must load without it.
  const { trainingCurveChart, writeChart } = await import('../plot');
  await writeChart(trainingCurveChart(points, [], { title: 'Masked-LM pretraining', yTitle: 'loss / accuracy × 10' }),
    path.join(output, 'pretrain-curve'));
}
