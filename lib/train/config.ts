/**
 * The configuration of a training run (`l0sparse train --config run.yaml`). Every key is checked:
 * unknown keys are rejected (a misspelt knob must not silently fall back to its default).
 */
import * as fs from 'fs';
import * as path from 'path';

import YAML from 'yaml';

import { checkUnseenIdf, type UnseenIdf } from '../idf/compute-idf';
import { checkDeviceName, type DeviceName } from '../native/device';
import { TRAIN_STEP_KEYS, type TrainStepConfig } from './native-trainer';
import { PAPER_SCHEDULE_FRACTIONS, resolveScheduleLengths, type ScheduleLengths } from './schedule-lengths';

/** A randomly initialised encoder (no pretrained weights needed). */
export interface RandomInit {
  architecture: 'bert' | 'distilbert';
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  seed?: number;
  /** Start as a bag of words (see native/model/bag_of_words_init.h); default true. */
  bagOfWords?: boolean | { embeddingStd?: number; headScale?: number; biasPerDim?: number };
}

export interface TrainDataConfig {
  /** Training JSONL: {"query": str, "docs": [str, ...], "scores"?: [num, ...]}, positive first. */
  jsonl?: string;
  /** A BEIR folder: train qrels give positives, the built-in BM25 mines hard negatives. */
  beir?: string;
  split?: string;
  /** Hard negatives per query for BEIR data (group size = 1 + negatives). */
  negatives?: number;
  /** Teacher scores: from the data, BM25 scores of the group, or none (InfoNCE). */
  teacher?: 'data' | 'bm25' | 'none';
  /** BEIR: skip the first `skipNegatives` BM25 hits that are not positives (they are often unjudged positives). */
  skipNegatives?: number;
  /**
   * BEIR: also train on self-supervised pairs, one per corpus document with a title: the title as the query, the
   * body (text without the title) as the positive, the next BM25 hits for the title (bodies too) as negatives.
   * Default false.
   */
  titlePairs?: boolean;
  onBadLine?: 'fail' | 'skip';
  /** Hold out these many training queries (the last ones after a seeded shuffle) for evaluation. */
  holdOut?: number;
}

export interface TrainRunConfig {
  /** Run folder: checkpoints/, train-log.jsonl, model/ (the final encoder). */
  output: string;
  /** A transformers model dir to start from, or a random initialisation. */
  init: string | RandomInit;
  /** tokenizer.json or vocab.txt; defaults to the init dir's tokenizer. */
  tokenizer?: string;
  /** idf.json for the query side; default: BM25 idf computed on the training corpus. */
  idf?: string;
  /**
   * When the IDF is computed (no `idf` file): the weight of tokens that occur in no training-corpus document.
   * 'default-1' (default): left out of the table, so they weigh 1.0 as in the authors' get_idf.py;
   * 'max-idf': the formula's df = 0 value ln(2N + 2), the largest weight of the table.
   */
  idfUnseen?: UnseenIdf;
  data: TrainDataConfig;
  steps: number;
  queriesPerStep: number;
  maxLength: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Run the evaluation hook every N steps (0 = never). */
  evalEvery: number;
  seed: number;
  threads?: number;
  /**
   * Where the model trains: 'cpu' (default), 'cuda' or 'cuda:N' (the CUDA variant on a GPU; one process: data
   * parallel runs are CPU only, docs/DISTRIBUTED.md). Not part of the run's identity: a run may resume on another
   * device (the numbers then differ in rounding and, with dropout, in the masks drawn).
   */
  device?: DeviceName;
  /**
   * Collapse detection (lib/train/collapse.ts): a step shows a symptom when its gradient norm is 0 or not finite,
   * its ranking loss is the value of all-equal scores, or its mean document nonzeros are below
   * `collapseMinDocNnz`; `collapsePatience` such steps in a row are a collapse. With `stopOnCollapse` (default)
   * the run then stops with an error and saves no model; otherwise it warns and goes on. Not part of the pinned
   * run identity: they decide whether a run stops, not what it computes.
   */
  collapsePatience: number;
  stopOnCollapse: boolean;
  collapseMinDocNnz: number;
  /** The native step: loss, activation, regularizer, optimizer (TrainStepConfig). */
  step: TrainStepConfig;
}

/** Defaults of the run keys. The warm-up lengths default to fractions of `steps` (lib/train/schedule-lengths.ts). */
export const TRAIN_DEFAULTS = {
  steps: 1000, queriesPerStep: 8, maxLength: 256, checkpointEvery: 100, keepCheckpoints: 2, evalEvery: 0, seed: 42,
  idfUnseen: 'default-1', collapsePatience: 3, stopOnCollapse: true, collapseMinDocNnz: 1,
} as const;

/** Keys that say how a run is watched, not what it computes: left out of the pinned train-config.json. */
export const UNPINNED_KEYS = ['device', 'collapsePatience', 'stopOnCollapse', 'collapseMinDocNnz'] as const;

const TOP_KEYS = ['output', 'init', 'tokenizer', 'idf', 'idfUnseen', 'data', 'steps', 'queriesPerStep', 'maxLength',
  'checkpointEvery', 'keepCheckpoints', 'evalEvery', 'seed', 'threads', 'device', 'collapsePatience', 'stopOnCollapse',
  'collapseMinDocNnz', 'step'];
const DATA_KEYS = ['jsonl', 'beir', 'split', 'negatives', 'teacher', 'skipNegatives', 'titlePairs', 'onBadLine', 'holdOut'];
const INIT_KEYS = ['architecture', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'seed', 'bagOfWords'];

function fail(msg: string): never {
  throw new RangeError(`train config: ${msg}`);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`unknown key '${where}${key}' (known: ${allowed.join(', ')})`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`'${name}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function optionalInt(v: unknown, name: string, min: number): number | undefined {
  return v === undefined ? undefined : int(v, name, min);
}

function deviceOption(v: unknown): DeviceName | undefined {
  if (v === undefined) return undefined;
  try {
    return checkDeviceName(v, "'device'");
  } catch (e) {
    return fail((e as Error).message);
  }
}

function bagOfWordsOption(v: unknown): RandomInit['bagOfWords'] {
  if (v === undefined) return true;
  if (typeof v === 'boolean') return v;
  if (!isObject(v)) fail("'init.bagOfWords' must be a boolean or { embeddingStd, headScale, biasPerDim }");
  checkKeys(v, ['embeddingStd', 'headScale', 'biasPerDim'], 'init.bagOfWords.');
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) fail(`'init.bagOfWords.${k}' must be a number >= 0`);
  }
  return v as { embeddingStd?: number; headScale?: number; biasPerDim?: number };
}

function idfUnseenOption(raw: Record<string, unknown>): UnseenIdf | undefined {
  const v = raw.idfUnseen;
  if (v !== undefined && raw.idf !== undefined) fail("'idfUnseen' applies only to an IDF computed from the training corpus; remove it or 'idf'");
  if (raw.idf !== undefined) return undefined;
  if (v === undefined) return TRAIN_DEFAULTS.idfUnseen;
  try {
    return checkUnseenIdf(v, "'idfUnseen'");
  } catch (e) {
    return fail((e as Error).message);
  }
}

export interface NormalizeOptions {
  /** Where warnings go (a warm-up longer than the run); default: stderr. */
  warn?: (line: string) => void;
  /** Warm-up lengths, as fractions of `steps`, for the keys the config leaves unset; default: the paper's. */
  scheduleFractions?: Readonly<ScheduleLengths>;
}

function warnOnStderr(line: string): void {
  process.stderr.write(`l0sparse: warning: ${line}\n`);
}

/**
 * Validates a parsed config object and fills defaults; relative paths resolve against `baseDir`. Unset warm-up
 * lengths become fractions of the run (the paper's 6% and 10% unless `options.scheduleFractions` says otherwise);
 * a set one longer than the run is kept and reported once through `options.warn`.
 */
export function normalizeTrainConfig(raw: unknown, baseDir = process.cwd(), options: NormalizeOptions = {}): TrainRunConfig {
  if (!isObject(raw)) fail('expected an object');
  checkKeys(raw, TOP_KEYS, '');
  const resolve = (p: unknown, name: string): string => {
    if (typeof p !== 'string' || p === '') fail(`'${name}' must be a non-empty path`);
    return path.resolve(baseDir, p);
  };
  if (raw.output === undefined) fail("'output' (the run folder) is required");
  if (raw.init === undefined) fail("'init' (a model dir or a random-init spec) is required");
  let init: string | RandomInit;
  if (typeof raw.init === 'string') init = resolve(raw.init, 'init');
  else if (isObject(raw.init)) {
    checkKeys(raw.init, INIT_KEYS, 'init.');
    const a = raw.init.architecture;
    if (a !== 'bert' && a !== 'distilbert') fail(`'init.architecture' must be 'bert' or 'distilbert', got ${JSON.stringify(a)}`);
    init = {
      architecture: a,
      hiddenSize: int(raw.init.hiddenSize, 'init.hiddenSize', 1),
      numLayers: int(raw.init.numLayers, 'init.numLayers', 1),
      numHeads: int(raw.init.numHeads, 'init.numHeads', 1),
      intermediateSize: int(raw.init.intermediateSize, 'init.intermediateSize', 1),
      maxPositions: int(raw.init.maxPositions, 'init.maxPositions', 2),
      seed: raw.init.seed === undefined ? undefined : int(raw.init.seed, 'init.seed', 0),
      bagOfWords: bagOfWordsOption(raw.init.bagOfWords),
    };
    if (init.hiddenSize % init.numHeads !== 0) fail(`init.hiddenSize ${init.hiddenSize} is not divisible by numHeads ${init.numHeads}`);
    if (raw.tokenizer === undefined) fail("a random 'init' needs 'tokenizer' (tokenizer.json or vocab.txt)");
  } else fail("'init' must be a model dir path or a random-init object");

  if (!isObject(raw.data)) fail("'data' is required: { jsonl: file } or { beir: dir }");
  checkKeys(raw.data, DATA_KEYS, 'data.');
  const d = raw.data;
  if ((d.jsonl === undefined) === (d.beir === undefined)) fail("'data' needs exactly one of 'jsonl' or 'beir'");
  const teacher = d.teacher ?? (d.jsonl !== undefined ? 'data' : 'none');
  if (teacher !== 'data' && teacher !== 'bm25' && teacher !== 'none') fail(`'data.teacher' must be data, bm25 or none, got ${JSON.stringify(teacher)}`);
  if (teacher === 'data' && d.beir !== undefined) fail("'data.teacher: data' needs JSONL data with scores; use bm25 or none for BEIR");
  const onBadLine = d.onBadLine ?? 'fail';
  if (onBadLine !== 'fail' && onBadLine !== 'skip') fail(`'data.onBadLine' must be fail or skip`);
  const data: TrainDataConfig = {
    jsonl: d.jsonl === undefined ? undefined : resolve(d.jsonl, 'data.jsonl'),
    beir: d.beir === undefined ? undefined : resolve(d.beir, 'data.beir'),
    split: d.split === undefined ? 'train' : String(d.split),
    negatives: d.negatives === undefined ? 1 : int(d.negatives, 'data.negatives', 1),
    teacher,
    skipNegatives: d.skipNegatives === undefined ? 0 : int(d.skipNegatives, 'data.skipNegatives', 0),
    // Absent unless set, so that folders pinned before the key existed still match their config.
    titlePairs: d.titlePairs === undefined || d.titlePairs === false ? undefined
      : d.titlePairs === true ? true : fail("'data.titlePairs' must be true or false"),
    onBadLine,
    holdOut: d.holdOut === undefined ? 0 : int(d.holdOut, 'data.holdOut', 0),
  };

  const step: TrainStepConfig = raw.step === undefined ? {} : (isObject(raw.step) ? { ...raw.step } : fail("'step' must be an object"));
  checkKeys(step as Record<string, unknown>, TRAIN_STEP_KEYS, 'step.');
  const loss = step.loss ?? (teacher === 'none' ? 'info_nce' : 'kl');
  if (teacher === 'none' && loss !== 'info_nce') fail(`step.loss '${loss}' needs teacher scores; set data.teacher or use info_nce`);
  const steps = raw.steps === undefined ? TRAIN_DEFAULTS.steps : int(raw.steps, 'steps', 1);
  const schedule = resolveScheduleLengths(steps, {
    warmupSteps: optionalInt(step.warmupSteps, 'step.warmupSteps', 0),
    lambdaWarmup: optionalInt(step.lambdaWarmup, 'step.lambdaWarmup', 0),
  }, options.scheduleFractions ?? PAPER_SCHEDULE_FRACTIONS);
  for (const line of schedule.warnings) (options.warn ?? warnOnStderr)(`train config: ${line}`);
  const stopOnCollapse = raw.stopOnCollapse ?? TRAIN_DEFAULTS.stopOnCollapse;
  if (typeof stopOnCollapse !== 'boolean') fail(`'stopOnCollapse' must be true or false, got ${JSON.stringify(stopOnCollapse)}`);
  const collapseMinDocNnz = raw.collapseMinDocNnz ?? TRAIN_DEFAULTS.collapseMinDocNnz;
  if (typeof collapseMinDocNnz !== 'number' || !Number.isFinite(collapseMinDocNnz) || collapseMinDocNnz < 0) {
    fail(`'collapseMinDocNnz' must be a number >= 0, got ${JSON.stringify(collapseMinDocNnz)}`);
  }
  const cfg: TrainRunConfig = {
    output: resolve(raw.output, 'output'),
    init,
    tokenizer: raw.tokenizer === undefined ? undefined : resolve(raw.tokenizer, 'tokenizer'),
    idf: raw.idf === undefined ? undefined : resolve(raw.idf, 'idf'),
    idfUnseen: idfUnseenOption(raw),
    data,
    steps,
    queriesPerStep: raw.queriesPerStep === undefined ? TRAIN_DEFAULTS.queriesPerStep : int(raw.queriesPerStep, 'queriesPerStep', 1),
    maxLength: raw.maxLength === undefined ? TRAIN_DEFAULTS.maxLength : int(raw.maxLength, 'maxLength', 2),
    checkpointEvery: raw.checkpointEvery === undefined ? TRAIN_DEFAULTS.checkpointEvery : int(raw.checkpointEvery, 'checkpointEvery', 1),
    keepCheckpoints: raw.keepCheckpoints === undefined ? TRAIN_DEFAULTS.keepCheckpoints : int(raw.keepCheckpoints, 'keepCheckpoints', 1),
    evalEvery: raw.evalEvery === undefined ? TRAIN_DEFAULTS.evalEvery : int(raw.evalEvery, 'evalEvery', 0),
    seed: raw.seed === undefined ? TRAIN_DEFAULTS.seed : int(raw.seed, 'seed', 0),
    threads: raw.threads === undefined ? undefined : int(raw.threads, 'threads', 1),
    device: deviceOption(raw.device),
    collapsePatience: raw.collapsePatience === undefined ? TRAIN_DEFAULTS.collapsePatience : int(raw.collapsePatience, 'collapsePatience', 1),
    stopOnCollapse,
    collapseMinDocNnz,
    step: { ...step, loss, ...schedule.lengths },
  };
  cfg.step.totalSteps ??= cfg.steps;
  cfg.step.seed ??= cfg.seed;
  return cfg;
}

/** Reads a JSON or YAML config file (by extension; .yaml/.yml are YAML). */
export function loadTrainConfig(file: string, options: NormalizeOptions = {}): TrainRunConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`train config: cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`train config: ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  return normalizeTrainConfig(raw, path.dirname(path.resolve(file)), options);
}
