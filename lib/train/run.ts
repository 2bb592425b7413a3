/**
 * A whole training run: data → groups → native steps → checkpoints → the final encoder folder.
 * Resumable: a run restarted on the same output folder continues from its newest complete checkpoint
 * and reaches the same parameters as an uninterrupted run (same batches, restored AdamW and RNG state).
 */
import * as fs from 'fs';
import * as path from 'path';

import type { NativeMlmModel } from '../model/native-model';
import { saveHfLayout } from '../model/save-layouts';
import { computeIdf } from '../idf/compute-idf';
import { IdfTable } from '../idf/idf-table';
import { startProgress, withAtomicDir } from '../io';
import { getNumThreads, setNumThreads } from '../native/threads';
import { QueryEncoder } from '../query/query-encoder';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { listCheckpoints, resumeFromCheckpoint, saveCheckpoint } from './checkpoints';
import { CollapseDetector, equalScoresLoss, TrainingCollapsedError, type Collapse } from './collapse';
import type { TrainRunConfig } from './config';
import { readTrainingData, type TrainingData, type TrainingGroup } from './data';
import { shardOf, type ProcessGroup } from './distributed';
import { initialModel } from './initial-model';
import { NativeTrainer, type TrainBatch, type TrainMetrics } from './native-trainer';
import { pinConfig } from './pinned-config';
import { GroupSchedule, seededPermutation } from './schedule';

export interface TrainRunOptions {
  /** Progress bar on stderr (only on a TTY). Default true. */
  progress?: boolean;
  /** Called after every optimizer step. */
  onStep?: (metrics: TrainMetrics) => void;
  /** Called every `evalEvery` steps and at the end, with the model being trained and the held-out groups. */
  onEval?: (ctx: EvalContext) => Promise<Record<string, number>>;
  /** Stop (without the final save) once this many optimizer steps are done: for tests of resumption. */
  stopAfterStep?: number;
  /**
   * Data-parallel run (docs/DISTRIBUTED.md): this process is one rank of a joined ProcessGroup. Each step's
   * global batch (queriesPerStep groups) is split into contiguous rank shards; rank 0 alone writes the log,
   * checkpoints, evaluations and the final model; every rank resumes from the newest checkpoint.
   */
  processGroup?: ProcessGroup;
}

export interface EvalContext {
  step: number;
  model: NativeMlmModel;
  tokenizer: TextTokenizer;
  queryEncoder: QueryEncoder;
  heldOut: TrainingGroup[];
  corpus: { id: string; text: string }[];
  config: TrainRunConfig;
}

export interface TrainRunResult {
  steps: number;
  resumedFrom: number;
  modelDir: string | null;
  lastMetrics: TrainMetrics | null;
  evaluations: { step: number; metrics: Record<string, number> }[];
  groups: number;
  heldOutGroups: number;
  seconds: number;
  /** Where the model trained: 'cpu' or 'cuda:N'. */
  device: string;
  /** The first collapse detected when `stopOnCollapse` is false (with it, a collapse throws TrainingCollapsedError). */
  collapse: Collapse | null;
}

/** Splits off whole queries for evaluation: the last `holdOut` query ids of a seeded shuffle. */
function holdOutQueries(data: TrainingData, holdOut: number, seed: number): { train: TrainingGroup[]; heldOut: TrainingGroup[] } {
  if (holdOut <= 0) return { train: data.groups, heldOut: [] };
  const ids = [...new Set(data.groups.map((g) => g.queryId))];
  if (holdOut >= ids.length) throw new RangeError(`data.holdOut ${holdOut} leaves no training queries (${ids.length} in all)`);
  const perm = seededPermutation(ids.length, seed ^ 0x5f3759df);
  const held = new Set(Array.from(perm.subarray(ids.length - holdOut), (i) => ids[i]));
  return { train: data.groups.filter((g) => !held.has(g.queryId)), heldOut: data.groups.filter((g) => held.has(g.queryId)) };
}

async function loadIdf(config: TrainRunConfig, tokenizer: TextTokenizer, data: TrainingData, progress: boolean,
  save = true): Promise<IdfTable> {
  if (config.idf) return IdfTable.load(config.idf, tokenizer);
  const file = path.join(config.output, 'idf.json');
  if (fs.existsSync(file)) return IdfTable.load(file, tokenizer);
  const idf = await computeIdf(data.corpusTexts, tokenizer, { total: data.corpusTexts.length, progress, unseen: config.idfUnseen });
  if (save) idf.save(file);  // data-parallel runs: rank 0 writes, the others read it (see runTraining)
  return idf;
}

export async function buildTrainBatch(groups: TrainingGroup[], groupSize: number, tokenizer: TextTokenizer,
  queryEncoder: QueryEncoder, maxLength: number, withTeacher: boolean): Promise<TrainBatch> {
  const docs = await tokenizer.encodeDocuments(groups.flatMap((g) => g.docs), maxLength);
  const queries = await queryEncoder.encode(groups.map((g) => g.query));
  const batch: TrainBatch = { docs, groupSize, queries };
  if (withTeacher) batch.teacher = Float32Array.from(groups.flatMap((g) => g.scores ?? []));
  return batch;
}

/**
 * The sentence naming the checkpoint to go back to. Metrics logged at step k were measured on the parameters of
 * checkpoint k - 1, so a collapse whose symptoms began at step k0 already shows in checkpoint k0 - 1: only
 * checkpoints up to k0 - 2 count as good (`before` = k0 - 1; undefined: the newest one).
 */
function lastGoodCheckpoint(output: string, before?: number): { good: { dir: string; step: number } | null; note: string } {
  const all = listCheckpoints(output);
  const good = (before === undefined ? all : all.filter((c) => c.step < before)).at(-1) ?? null;
  if (good) return { good, note: `The last good checkpoint is ${good.dir} (step ${good.step}).` };
  if (all.length > 0) return { good, note: `No checkpoint from before the symptoms is left (the newest, step ${all.at(-1)!.step}, already shows them).` };
  return { good, note: 'No checkpoint was written yet.' };
}

/**
 * Runs (or resumes) the training `config` describes. Its `threads` setting holds for the run only: the process's
 * earlier intra-op thread count is back when the run returns or fails.
 */
export async function runTraining(config: TrainRunConfig, opts: TrainRunOptions = {}): Promise<TrainRunResult> {
  const threadsBefore = config.threads ? getNumThreads() : 0;
  try {
    return await trainToCompletion(config, opts);
  } finally {
    if (threadsBefore) setNumThreads(threadsBefore);
  }
}

/** Who this process is in the run, and what it may write. */
interface RunRole {
  pg: ProcessGroup | undefined;
  rank: number;
  worldSize: number;
  /** Rank 0 owns every file of the run folder; the other ranks only read (see TrainRunOptions). */
  isMain: boolean;
  device: string;
  progress: boolean;
}

function runRole(config: TrainRunConfig, opts: TrainRunOptions): RunRole {
  const pg = opts.processGroup;
  const rank = pg?.rank ?? 0;
  const worldSize = pg?.worldSize ?? 1;
  if (config.queriesPerStep < worldSize) {
    throw new RangeError(`queriesPerStep ${config.queriesPerStep} is smaller than the ${worldSize} ranks: every rank needs a query per step`);
  }
  const device = config.device ?? 'cpu';
  if (pg && device !== 'cpu') {
    throw new Error(`data-parallel training (${worldSize} ranks) runs its collectives with Gloo on CPU tensors and does not ` +
      `support device '${device}': train on one GPU (no --nproc / WORLD_SIZE) or use device 'cpu' (docs/DISTRIBUTED.md)`);
  }
  return { pg, rank, worldSize, isMain: rank === 0, device, progress: opts.progress !== false && rank === 0 };
}

/** Tokenizer, training groups split into train / held-out, and the idf query encoder (written once, by rank 0). */
async function prepareInputs(config: TrainRunConfig, role: RunRole, initDir: string | null) {
  const tokenizer = config.tokenizer ? TextTokenizer.fromFile(config.tokenizer) : TextTokenizer.fromDir(initDir!);
  const data = await readTrainingData(config.data);
  const { train, heldOut } = holdOutQueries(data, config.data.holdOut ?? 0, config.seed);
  if (role.pg && !role.isMain) await role.pg.barrier();  // rank 0 has pinned the config and written idf.json
  const idf = await loadIdf(config, tokenizer, data, role.progress, role.isMain);
  if (role.pg && role.isMain) await role.pg.barrier();
  return { tokenizer, data, train, heldOut, queryEncoder: QueryEncoder.fromIdf(tokenizer, idf) };
}

/** The final encoder folder, swapped in whole (lib/io replaceDir), so a failed or killed rerun never leaves half of one. */
async function saveFinalModel(config: TrainRunConfig, model: NativeMlmModel, tokenizer: TextTokenizer, queryEncoder: QueryEncoder): Promise<string> {
  const modelDir = path.join(config.output, 'model');
  await withAtomicDir(modelDir, (tmp) => saveHfLayout(tmp, {
    model, tokenizer, maxLength: config.maxLength,
    // Decoupled training scores with the relu weights: that is the encoder it produced.
    activation: config.step.decoupled ? 'relu' : (config.step.activation ?? 'l0'), k: config.step.k ?? 1,
    query: { tokenizer, weights: queryEncoder.effectiveWeights() },
  }));
  return modelDir;
}

async function trainToCompletion(config: TrainRunConfig, opts: TrainRunOptions): Promise<TrainRunResult> {
  const t0 = Date.now();
  const role = runRole(config, opts);
  if (role.isMain) pinConfig(config);
  if (config.threads) setNumThreads(config.threads);
  const initDir = typeof config.init === 'string' ? config.init : null;
  const inputs = await prepareInputs(config, role, initDir);
  const model = await initialModel(config, inputs.tokenizer, role.device);
  const trainer = NativeTrainer.create(model, config.step);
  const resumedFrom = await resumeFromCheckpoint(trainer, config.output);
  const loop = await trainSteps(config, opts, role, { ...inputs, model, trainer }, resumedFrom);
  const modelDir = loop.step >= config.steps && role.isMain ? await saveFinalModel(config, model, inputs.tokenizer, inputs.queryEncoder) : null;
  return {
    steps: loop.step, resumedFrom, modelDir, lastMetrics: loop.last, evaluations: loop.evaluations, groups: inputs.train.length,
    heldOutGroups: inputs.heldOut.length, seconds: (Date.now() - t0) / 1000, device: model.device, collapse: loop.collapse,
  };
}

interface RunParts {
  tokenizer: TextTokenizer;
  data: TrainingData;
  train: TrainingGroup[];
  heldOut: TrainingGroup[];
  queryEncoder: QueryEncoder;
  model: NativeMlmModel;
  trainer: NativeTrainer;
}

/** The step loop: batches, native steps, the log, collapse checks, checkpoints and evaluations, up to config.steps. */
async function trainSteps(config: TrainRunConfig, opts: TrainRunOptions, role: RunRole, parts: RunParts, startStep: number) {
  const { tokenizer, data, train, heldOut, queryEncoder, model, trainer } = parts;
  const { pg, rank, worldSize, isMain } = role;
  let step = startStep;
  const schedule = new GroupSchedule(train.length, config.seed);
  const accumulation = config.step.gradAccumulation ?? 1;
  const withTeacher = config.step.loss !== 'info_nce';
  const log = isMain ? fs.openSync(path.join(config.output, 'train-log.jsonl'), 'a') : -1;
  const evaluations: TrainRunResult['evaluations'] = [];
  const bar = startProgress('train', config.steps, role.progress, { unit: 'steps', initial: step, fields: { loss: '-', nnz: '-' } });
  const detector = new CollapseDetector(config.collapsePatience, config.collapseMinDocNnz);
  let collapse: Collapse | null = null;
  let last: TrainMetrics | null = null;
  const evaluate = async () => {
    if (!opts.onEval || !isMain) return;
    const metrics = await opts.onEval({ step, model, tokenizer, queryEncoder, heldOut, corpus: data.corpus, config });
    evaluations.push({ step, metrics });
    fs.writeSync(log, JSON.stringify({ step, eval: metrics }) + '\n');
  };
  /** One optimizer step (over `accumulation` micro-batches); returns the global groups of its last micro-batch. */
  const optimizerStep = async (): Promise<TrainingGroup[]> => {
    let global: TrainingGroup[] = [];
    for (let a = 0; a < accumulation; a++) {
      global = schedule.batch(step * accumulation + a, config.queriesPerStep).map((i) => train[i]);
      const groups = pg ? shardOf(global, rank, worldSize) : global;  // this rank's contiguous shard
      const batch = await buildTrainBatch(groups, data.groupSize, tokenizer, queryEncoder, config.maxLength, withTeacher);
      try {
        last = await trainer.trainStep(batch);
      } catch (e) {
        throw new Error(`training stopped at step ${step}: ${(e as Error).message}\n${lastGoodCheckpoint(config.output).note}`);
      }
    }
    return global;
  };
  /** Every rank sees the same global metrics, so every rank reaches the same verdict at the same step. */
  const checkCollapse = (metrics: TrainMetrics, global: TrainingGroup[]) => {
    const collapsed = detector.observe(metrics, equalScoresLoss(config.step, {
      candidates: global.length * data.groupSize, groupSize: data.groupSize,
      teacher: withTeacher ? global.flatMap((g) => g.scores ?? []) : undefined,
    }));
    if (!collapsed) return;
    if (isMain) fs.writeSync(log, JSON.stringify({ step, collapse: collapsed }) + '\n');
    if (config.stopOnCollapse) {
      const { good, note } = lastGoodCheckpoint(config.output, collapsed.firstStep - 1);
      throw new TrainingCollapsedError(collapsed, good, note);
    }
    collapse ??= collapsed;
    if (isMain) process.stderr.write(`l0sparse: warning: training collapsed at step ${step} (${collapsed.symptoms.join('; ')}); stopOnCollapse is false, training on\n`);
  };
  try {
    if (config.evalEvery > 0 && step === 0) await evaluate();  // the starting point of the curve
    while (step < config.steps && (opts.stopAfterStep === undefined || step < opts.stopAfterStep)) {
      const global = await optimizerStep();
      const metrics = last!;
      step = metrics.step;
      if (isMain) fs.writeSync(log, JSON.stringify(metrics) + '\n');
      opts.onStep?.(metrics);
      bar.update(step, { loss: metrics.loss.toFixed(4), nnz: metrics.meanDocNnz.toFixed(0) });
      checkCollapse(metrics, global);
      // A periodic checkpoint inside a run of symptoms is postponed, so that the rotation (keepCheckpoints) never
      // replaces the last good checkpoint with one of a collapsing model; the final one is always written.
      const postpone = config.stopOnCollapse && detector.suspect && step !== config.steps;
      if (isMain && !postpone && (step % config.checkpointEvery === 0 || step === config.steps)) {
        await saveCheckpoint(trainer, config.output, step, config.keepCheckpoints, metrics);
      }
      if (config.evalEvery > 0 && step % config.evalEvery === 0 && step < config.steps) await evaluate();
    }
    if (step >= config.steps && opts.onEval && evaluations.at(-1)?.step !== step) await evaluate();
  } finally {
    bar.stop();
    if (isMain) fs.closeSync(log);
  }
  return { step, last: last as TrainMetrics | null, evaluations, collapse: collapse as Collapse | null };
}
