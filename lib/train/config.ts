/**
 * The configuration of a training run (`l0sparse train --config run.yaml`). Every key is checked:
 * unknown keys are rejected (a misspelt knob must not silently fall back to its default).
 */
import * as fs from 'fs';
import * as path from 'path';

import YAML from 'yaml';

import { checkDeviceName, type DeviceName } from '../native/device';
import { TRAIN_STEP_KEYS, type TrainStepConfig } from './native-trainer';

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
  /** The native step: loss, activation, regularizer, optimizer (TrainStepConfig). */
  step: TrainStepConfig;
}

export const TRAIN_DEFAULTS = {
  steps: 1000, queriesPerStep: 8, maxLength: 256, checkpointEvery: 100, keepCheckpoints: 2, evalEvery: 0, seed: 42,
} as const;

const TOP_KEYS = ['output', 'init', 'tokenizer', 'idf', 'data', 'steps', 'queriesPerStep', 'maxLength', 'checkpointEvery',
  'keepCheckpoints', 'evalEvery', 'seed', 'threads', 'device', 'step'];
const DATA_KEYS = ['jsonl', 'beir', 'split', 'negatives', 'teacher', 'skipNegatives', 'onBadLine', 'holdOut'];
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

/** Validates a parsed config object and fills defaults; relative paths resolve against `baseDir`. */
export function normalizeTrainConfig(raw: unknown, baseDir = process.cwd()): TrainRunConfig {
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
    onBadLine,
    holdOut: d.holdOut === undefined ? 0 : int(d.holdOut, 'data.holdOut', 0),
  };

  const step: TrainStepConfig = raw.step === undefined ? {} : (isObject(raw.step) ? { ...raw.step } : fail("'step' must be an object"));
  checkKeys(step as Record<string, unknown>, TRAIN_STEP_KEYS, 'step.');
  const loss = step.loss ?? (teacher === 'none' ? 'info_nce' : 'kl');
  if (teacher === 'none' && loss !== 'info_nce') fail(`step.loss '${loss}' needs teacher scores; set data.teacher or use info_nce`);
  const cfg: TrainRunConfig = {
    output: resolve(raw.output, 'output'),
    init,
    tokenizer: raw.tokenizer === undefined ? undefined : resolve(raw.tokenizer, 'tokenizer'),
    idf: raw.idf === undefined ? undefined : resolve(raw.idf, 'idf'),
    data,
    steps: raw.steps === undefined ? TRAIN_DEFAULTS.steps : int(raw.steps, 'steps', 1),
    queriesPerStep: raw.queriesPerStep === undefined ? TRAIN_DEFAULTS.queriesPerStep : int(raw.queriesPerStep, 'queriesPerStep', 1),
    maxLength: raw.maxLength === undefined ? TRAIN_DEFAULTS.maxLength : int(raw.maxLength, 'maxLength', 2),
    checkpointEvery: raw.checkpointEvery === undefined ? TRAIN_DEFAULTS.checkpointEvery : int(raw.checkpointEvery, 'checkpointEvery', 1),
    keepCheckpoints: raw.keepCheckpoints === undefined ? TRAIN_DEFAULTS.keepCheckpoints : int(raw.keepCheckpoints, 'keepCheckpoints', 1),
    evalEvery: raw.evalEvery === undefined ? TRAIN_DEFAULTS.evalEvery : int(raw.evalEvery, 'evalEvery', 0),
    seed: raw.seed === undefined ? TRAIN_DEFAULTS.seed : int(raw.seed, 'seed', 0),
    threads: raw.threads === undefined ? undefined : int(raw.threads, 'threads', 1),
    device: deviceOption(raw.device),
    step: { ...step, loss },
  };
  cfg.step.totalSteps ??= cfg.steps;
  cfg.step.seed ??= cfg.seed;
  return cfg;
}

/** Reads a JSON or YAML config file (by extension; .yaml/.yml are YAML). */
export function loadTrainConfig(file: string): TrainRunConfig {
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
  return normalizeTrainConfig(raw, path.dirname(path.resolve(file)));
}
