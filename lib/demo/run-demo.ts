/**
 * `l0sparse demo`: the whole pipeline on BEIR SciFact (or any BEIR folder with train and test qrels, `--data`)
 * with a model trained here from scratch.
 * dataset → IDF from the corpus → ℓ0 training on the train split (BM25-mined hard negatives, bag-of-words
 * initialisation) → encode the corpus → inverted index → the test split next to BM25 (word level and
 * WordPiece) → table, JSON and plots, titled with the dataset's name.
 */
import * as fs from 'fs';
import * as path from 'path';

import { analyzeAll, type BatchAnalyzer, type TextAnalyzer } from '../bm25/bm25-index';
import { bm25OnBeir } from '../bm25/beir-bm25';
import { englishAnalyzer } from '../bm25/english-analyzer';
import { wordPieceAnalyzer } from '../bm25/wordpiece-analyzer';
import { documentText, loadBeir, type BeirDataset } from '../data/beir';
import { hitsToRun } from '../data/trec';
import { NativeMlmModel } from '../model/native-model';
import { efficiency, evaluate } from '../eval';
import { IdfTable } from '../idf/idf-table';
import { SparseIndex } from '../index/sparse-index';
import { writeFileAtomic } from '../io';
import { tradeoffChart, trainingCurveChart, writeChart, type CurvePoint } from '../plot';
import { QueryEncoder } from '../query/query-encoder';
import { evaluateEncoder } from '../retrieval/evaluate-encoder';
import type { Csr } from '../sparse/csr';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { normalizeTrainConfig, type TrainRunConfig } from '../train/config';
import { heldOutEvaluation } from '../train/held-out-eval';
import type { TrainStepConfig } from '../train/native-trainer';
import { pinnedConfigText } from '../train/pinned-config';
import { PRETRAIN_DEFAULTS, runPretraining } from '../train/pretrain';
import { runTraining } from '../train/run';
import type { ScheduleLengths } from '../train/schedule-lengths';
import { bm25Vectors } from './bm25-impacts';
import { resolveScifact } from './scifact-data';

/** The project's own WordPiece vocabulary, trained on the SciFact corpus (scripts/demo/train-scifact-vocab.py). */
export const DEFAULT_DEMO_VOCAB = path.resolve(__dirname, '..', '..', '..', 'assets', 'scifact-wordpiece-8k.txt');

export interface DemoOptions {
  /** BEIR folder (SciFact by default); default ../shared/data/scifact when present, else downloaded into the cache. */
  data?: string;
  /** The dataset's name in titles, tables and JSON; default the `data` folder's name, 'SciFact' without `data`. */
  name?: string;
  out: string;
  tokenizer?: string;
  /**
   * A transformers masked-LM folder to start from (e.g. `l0sparse pretrain`'s model/); its tokenizer is used unless
   * `tokenizer` is set, and dim / layers / heads / bagOfWords do not apply. Default: a random bag-of-words model.
   */
  init?: string;
  /**
   * Masked-LM pretraining steps on the dataset's own corpus before sparse training (`l0sparse pretrain`, from a plain
   * random model of the demo's shape); 0 = none (start as a bag of words). Ignored with `init`.
   */
  pretrainSteps?: number;
  /** Peak learning rate of that pretraining (default 1e-3). */
  pretrainLr?: number;
  steps: number;
  dim: number;
  layers: number;
  heads?: number;
  intermediate?: number;
  maxLength: number;
  queriesPerStep: number;
  negatives: number;
  /** Also train on (title → body) pairs of the corpus (data.titlePairs). Default false. */
  titlePairs?: boolean;
  /** 'info_nce' (in-batch + BM25 hard negatives) or 'kl' (BM25 scores of the group as the teacher). */
  loss: 'info_nce' | 'kl';
  lr: number;
  /** LR warm-up steps; default DEMO_SCHEDULE_FRACTIONS of the run. */
  warmupSteps?: number;
  lambda: number;
  /** T of the quadratic λ warm-up; default DEMO_SCHEDULE_FRACTIONS of the run. */
  lambdaWarmup?: number;
  threshold: number;
  activation: 'relu' | 'l0';
  k: number;
  bagOfWords: boolean;
  /** Held-out training-curve points (0 = none); the curve uses `holdOut` train queries over `curveCorpus` docs. */
  evalEvery: number;
  holdOut: number;
  curveCorpus: number;
  seed: number;
  bf16?: boolean;
  progress?: boolean;
  /** Extra train-step settings (sweeps). */
  step?: TrainStepConfig;
  /** Evaluate the BM25 baselines (default true). */
  baselines?: boolean;
  /** Use only the first n corpus documents besides every judged one (tests); default all. */
  maxCorpus?: number;
  /** Write plots (default true). */
  plots?: boolean;
  log?: (line: string) => void;
}

/**
 * The demo's warm-ups as fractions of its run (through the same resolution as `l0sparse train`, whose defaults are
 * the paper's 6% and 10%): its short runs (300 steps by default) warm the learning rate up over 10% and λ over half
 * the run. The published demo numbers (docs/DEMO.md) were measured with these lengths.
 */
export const DEMO_SCHEDULE_FRACTIONS: Readonly<ScheduleLengths> = Object.freeze({ warmupSteps: 0.1, lambdaWarmup: 0.5 });

export const DEMO_DEFAULTS: Omit<DemoOptions, 'out'> = {
  pretrainSteps: 500, steps: 300, dim: 64, layers: 1, maxLength: 256, queriesPerStep: 16, negatives: 1, loss: 'info_nce', lr: 1e-3,
  lambda: 0.01, threshold: 200, activation: 'l0', k: 1, bagOfWords: true, evalEvery: 0, holdOut: 0, curveCorpus: 1000,
  seed: 42,
};

export interface SystemRow {
  system: string;
  ndcg10: number;
  recall100: number;
  flops: number;
  meanDocNnz: number;
  meanQueryNnz: number;
  indexBytes: number;
  /** Milliseconds per query: query-side processing (analysis / tokenize + idf) and top-100 search, one thread. */
  latencyMs: number;
  notes?: string;
}

export interface DemoResult {
  data: { name: string; dir: string; source: string; documents: number; testQueries: number };
  config: { options: Omit<DemoOptions, 'log'>; train: TrainRunConfig };
  rows: SystemRow[];
  /** The model's per-document nonzero counts on the test corpus at quantiles 0, 0.05, …, 1 (nearest rank; DOC_NNZ_QUANTILE_STEP). */
  docNnzQuantiles: number[];
  training: { steps: number; seconds: number; groups: number; curve: { step: number; metrics: Record<string, number> }[]; lastMetrics: unknown };
  seconds: Record<string, number>;
  files: Record<string, string>;
}

async function timedSearch(index: SparseIndex, prepare: () => Promise<Csr> | Csr, numQueries: number, repeats = 3): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    const queries = await prepare();
    await index.search(queries, 100, { threads: 1 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 / numQueries);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

async function indexStats(docs: Csr, ids: string[], file: string): Promise<{ index: SparseIndex; bytes: number }> {
  const index = new SparseIndex(docs.numCols);
  index.add(docs, ids);
  await index.build();
  await index.save(file);
  return { index, bytes: fs.statSync(file).size };
}

/** BM25 at one analysis level: quality from the Lucene-style BM25 (top 1000, as Pyserini); cost from its vectors. */
async function bm25Row(name: string, data: BeirDataset, analyzer: TextAnalyzer | BatchAnalyzer, dir: string, progress: boolean): Promise<SystemRow> {
  const r = await bm25OnBeir(data, analyzer, { progress });
  const e = evaluate(data.qrels, hitsToRun(r.results), { measures: ['ndcg_cut.10', 'recall.100'], averageOverAllJudged: true, ignoreIdenticalIds: true });
  const docTerms = await analyzeAll(data.corpus.map(documentText), analyzer);
  const queryTexts = data.queries.map((q) => q.text);
  const vectors = bm25Vectors(docTerms, await analyzeAll(queryTexts, analyzer));
  const eff = efficiency(vectors.queries, vectors.docs);
  const { index, bytes } = await indexStats(vectors.docs, data.corpus.map((d) => d.id), path.join(dir, `${name.replace(/\W+/g, '-')}.index`));
  const latencyMs = await timedSearch(index, async () => {
    // The query side of BM25 is its analysis; vectors are then looked up in the same term table.
    await analyzeAll(queryTexts, analyzer);
    return vectors.queries;
  }, queryTexts.length);
  return {
    system: name, ndcg10: e.summary.get('ndcg_cut_10') ?? 0, recall100: e.summary.get('recall_100') ?? 0,
    flops: eff.flops, meanDocNnz: eff.meanDocNonZeros, meanQueryNnz: eff.meanQueryNonZeros, indexBytes: bytes, latencyMs,
  };
}

function restrictCorpus(data: BeirDataset, max: number | undefined): BeirDataset {
  if (max === undefined || data.corpus.length <= max) return data;
  const judged = new Set([...data.qrels.values()].flatMap((m) => [...m.keys()]));
  const keep = new Set([...data.corpus.filter((d) => judged.has(d.id)), ...data.corpus.filter((d) => !judged.has(d.id)).slice(0, Math.max(0, max - judged.size))].map((d) => d.id));
  return { ...data, corpus: data.corpus.filter((d) => keep.has(d.id)) };
}

/** The name titles and tables give the dataset: `name`, else the folder's name, else (the demo's own data) 'SciFact'. */
export function demoDatasetName(o: Pick<DemoOptions, 'data' | 'name'>): string {
  if (o.name !== undefined) return o.name;
  return o.data === undefined ? 'SciFact' : path.basename(path.resolve(o.data));
}

export function demoTrainConfig(o: DemoOptions, dataDir: string, tokenizer: string): TrainRunConfig {
  const heads = o.heads ?? Math.max(1, Math.round(o.dim / 32));
  return normalizeTrainConfig({
    output: path.join(o.out, 'run'),
    init: o.init !== undefined ? path.resolve(o.init) : {
      architecture: 'distilbert', hiddenSize: o.dim, numLayers: o.layers, numHeads: heads, intermediateSize: o.intermediate ?? o.dim * 2,
      maxPositions: Math.max(o.maxLength, 128), bagOfWords: o.bagOfWords,
    },
    tokenizer,
    data: {
      beir: dataDir, split: 'train', negatives: o.negatives, teacher: o.loss === 'kl' ? 'bm25' : 'none', holdOut: o.evalEvery > 0 ? o.holdOut || 50 : 0,
      titlePairs: o.titlePairs,
    },
    steps: o.steps, queriesPerStep: o.queriesPerStep, maxLength: o.maxLength,
    checkpointEvery: Math.max(1, Math.min(o.steps, 100)), keepCheckpoints: 1, evalEvery: o.evalEvery, seed: o.seed,
    step: {
      loss: o.loss, activation: o.activation, k: o.k, lr: o.lr, warmupSteps: o.warmupSteps,
      lambda: o.lambda, lambdaWarmup: o.lambdaWarmup, threshold: o.threshold,
      bf16: o.bf16, ...o.step,
    },
  }, undefined, { scheduleFractions: DEMO_SCHEDULE_FRACTIONS, warn: o.log && ((line) => o.log!(`warning: ${line}`)) });
}

/**
 * `l0sparse pretrain` on a dataset's corpus with the demo's model shape (plain random start) into <o.out>/pretrain
 * (resumable); returns the model folder. The demo and the ablation (once per dataset) start from it.
 */
export async function pretrainForDemo(o: DemoOptions, dataDir: string, tokenizer: string, progress: boolean, log: (line: string) => void): Promise<string> {
  const steps = o.pretrainSteps!;
  log(`pretraining: ${steps} masked-LM steps on the corpus, D=${o.dim}, ${o.layers} layer(s)`);
  const r = await runPretraining({
    ...PRETRAIN_DEFAULTS, text: [dataDir], output: path.join(o.out, 'pretrain'), tokenizer, steps, maxLength: o.maxLength,
    lr: o.pretrainLr ?? 1e-3, seed: o.seed, bf16: o.bf16 === true, checkpointEvery: Math.max(1, Math.min(steps, 250)),
    init: {
      architecture: 'distilbert', hiddenSize: o.dim, numLayers: o.layers, numHeads: o.heads ?? Math.max(1, Math.round(o.dim / 32)),
      intermediateSize: o.intermediate ?? o.dim * 2, maxPositions: Math.max(o.maxLength, 128), bagOfWords: false,
    },
  }, { progress });
  log(`  masked-LM loss ${r.lastMetrics?.loss.toFixed(3) ?? '-'}, accuracy ${r.lastMetrics?.accuracy.toFixed(3) ?? '-'} (${r.seconds.toFixed(0)} s)`);
  return r.modelDir!;
}

/** How the demo's model started, for its row: its shape (and pretraining), or the folder it was given. */
function modelOrigin(o: DemoOptions): string {
  if (o.init !== undefined) return `from ${path.basename(path.resolve(o.init))}`;
  return `D=${o.dim}, ${o.layers}L${(o.pretrainSteps ?? 0) > 0 ? `, MLM-pretrained ${o.pretrainSteps} steps` : ''}`;
}

/** The tokenizer file of a model folder (tokenizer.json, else vocab.txt). */
function tokenizerFileOf(dir: string): string {
  for (const name of ['tokenizer.json', 'vocab.txt']) {
    if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`${dir} has no tokenizer.json or vocab.txt: pass --tokenizer`);
}

export async function runDemo(given: DemoOptions): Promise<DemoResult> {
  let options = given;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress = options.progress !== false;
  const seconds: Record<string, number> = {};
  const tic = () => { const t = Date.now(); return () => (Date.now() - t) / 1000; };
  const total = tic();
  fs.mkdirSync(options.out, { recursive: true });

  let t = tic();
  const data = await resolveScifact({ data: options.data, progress, log });
  const name = demoDatasetName(options);
  const test = restrictCorpus(await loadBeir(data.dir, 'test'), options.maxCorpus);
  seconds.data = t();
  log(`${name}: ${data.dir} (${data.source}), ${test.corpus.length} documents, ${test.queries.length} test queries`);
  const tokenizerFile = options.tokenizer ?? (options.init !== undefined ? tokenizerFileOf(options.init) : DEFAULT_DEMO_VOCAB);
  const tokenizer = TextTokenizer.fromFile(tokenizerFile);

  // Optional in-domain pretraining (resumable in <out>/pretrain), whose model the training then starts from.
  if (options.init === undefined && (options.pretrainSteps ?? 0) > 0) {
    t = tic();
    const pretrained = await pretrainForDemo(options, data.dir, tokenizerFile, progress, log);
    seconds.pretrain = t();
    options = { ...options, init: pretrained };
  }
  // Training (the run folder is resumable; a different configuration starts over).
  const train = demoTrainConfig(options, data.dir, tokenizerFile);
  const pinned = path.join(train.output, 'train-config.json');
  if (fs.existsSync(pinned) && fs.readFileSync(pinned, 'utf8') !== pinnedConfigText(train)) {
    log(`${train.output} holds a run with other settings: starting it over`);
    fs.rmSync(train.output, { recursive: true, force: true });
  }
  t = tic();
  const start = options.init !== undefined ? `from ${options.init}` : `D=${options.dim}, ${options.layers} layer(s)`;
  log(`training: ${options.steps} steps × ${options.queriesPerStep} queries (${options.loss}, ${options.activation}${options.activation === 'l0' ? ` k=${options.k}` : ''}, λ=${options.lambda}, t=${options.threshold}), ${start}, vocabulary ${tokenizer.vocabSize}`);
  const trained = await runTraining(train, {
    progress,
    onEval: options.evalEvery > 0 ? heldOutEvaluation({ maxCorpus: options.curveCorpus }) : undefined,
  });
  seconds.train = t();
  if (!trained.modelDir) throw new Error('training did not finish');

  // Encode the corpus, index, evaluate on the test split.
  t = tic();
  const model = await NativeMlmModel.load(trained.modelDir);
  const idf = IdfTable.load(path.join(train.output, 'idf.json'), tokenizer);
  const queryEncoder = QueryEncoder.fromIdf(tokenizer, idf);
  const r = await evaluateEncoder({
    model, tokenizer, queryEncoder, corpus: test.corpus.map((d) => ({ id: d.id, text: documentText(d) })),
    queries: test.queries, qrels: test.qrels, activation: train.step.decoupled ? 'relu' : (train.step.activation ?? 'l0'),
    k: train.step.k ?? 1, maxLength: options.maxLength, batchSize: 32, progress,
  });
  seconds.encode = r.encodeSeconds;
  const { index, bytes } = await indexStats(r.docs, test.corpus.map((d) => d.id), path.join(options.out, 'model.index'));
  const queryTexts = test.queries.map((q) => q.text);
  const latencyMs = await timedSearch(index, () => queryEncoder.encode(queryTexts, { allowEmpty: true }), queryTexts.length);
  seconds.evaluateModel = t();
  const modelRow: SystemRow = {
    system: `l0 model (${modelOrigin(given)}, ${options.steps} steps)`, ndcg10: r.ndcg10, recall100: r.recall100,
    flops: r.flops, meanDocNnz: r.meanDocNnz, meanQueryNnz: r.meanQueryNnz, indexBytes: bytes, latencyMs,
  };

  const rows: SystemRow[] = [];
  if (options.baselines !== false) {
    t = tic();
    const bmDir = path.join(options.out, 'bm25');
    fs.mkdirSync(bmDir, { recursive: true });
    rows.push(await bm25Row('BM25 (word, Anserini analysis)', test, englishAnalyzer(), bmDir, progress));
    rows.push(await bm25Row(`BM25 (WordPiece, ${path.basename(tokenizerFile)})`, test, wordPieceAnalyzer(tokenizer), bmDir, progress));
    seconds.bm25 = t();
  }
  rows.push(modelRow);
  seconds.total = total();

  const files: Record<string, string> = { json: path.join(options.out, 'demo.json'), table: path.join(options.out, 'demo.md'), model: trained.modelDir };
  const curve = trained.evaluations;
  if (options.plots !== false) Object.assign(files, await writeDemoPlots(rows, curve, options.out, {
    dataset: name, documents: test.corpus.length, queries: test.queries.length, holdOut: options.holdOut || 50, curveCorpus: options.curveCorpus,
  }));
  const result: DemoResult = {
    data: { name, dir: data.dir, source: data.source, documents: test.corpus.length, testQueries: test.queries.length },
    config: { options: { ...options, log: undefined } as Omit<DemoOptions, 'log'>, train },
    rows,
    docNnzQuantiles: nnzQuantiles(r.docs.indptr),
    training: { steps: trained.steps, seconds: trained.seconds, groups: trained.groups, curve, lastMetrics: trained.lastMetrics },
    seconds, files,
  };
  writeFileAtomic(files.json, JSON.stringify(result, null, 2) + '\n');
  writeFileAtomic(files.table, formatDemoReport(result) + '\n');
  return result;
}

export const DOC_NNZ_QUANTILE_STEP = 0.05;

/** Row lengths of a CSR at quantiles 0, step, 2·step, …, 1: the smallest count with at least that share of rows at or below it. */
export function nnzQuantiles(indptr: Int32Array, step = DOC_NNZ_QUANTILE_STEP): number[] {
  const n = indptr.length - 1;
  const counts = Int32Array.from({ length: n }, (_, i) => indptr[i + 1] - indptr[i]).sort();
  const steps = Math.round(1 / step);
  return Array.from({ length: steps + 1 }, (_, j) => (j === 0 ? counts[0] : counts[Math.min(n - 1, Math.ceil((j / steps) * n) - 1)]));
}

/** The line naming what the table measured: dataset, split and sizes. */
export function demoHeading(data: Pick<DemoResult['data'], 'name' | 'testQueries' | 'documents'>): string {
  return `${data.name} test (${data.testQueries} queries, ${data.documents} documents)`;
}

/** demo.md: the heading, then the table. */
export function formatDemoReport(result: Pick<DemoResult, 'data' | 'rows'>): string {
  return `${demoHeading(result.data)}\n\n${formatDemoTable(result.rows)}`;
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

/** The demo table in Markdown (also readable as plain text). */
export function formatDemoTable(rows: SystemRow[]): string {
  const lines = [
    '| system | nDCG@10 | R@100 | FLOPS | doc nnz | query nnz | index | latency ms/q |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.system} | ${r.ndcg10.toFixed(4)} | ${r.recall100.toFixed(4)} | ${r.flops.toFixed(2)} | ${r.meanDocNnz.toFixed(1)} | ${r.meanQueryNnz.toFixed(1)} | ${formatBytes(r.indexBytes)} | ${r.latencyMs.toFixed(3)} |`);
  }
  return lines.join('\n');
}

export interface DemoPlotInfo {
  /** The dataset's name (demoDatasetName) for the titles. */
  dataset: string;
  documents: number;
  queries: number;
  holdOut: number;
  curveCorpus: number;
}

/** The trade-off chart of the demo's rows: nDCG@10 on the dataset's test split vs FLOPS. */
export function demoTradeoffChart(rows: SystemRow[], info: Pick<DemoPlotInfo, 'dataset' | 'documents' | 'queries'>): ReturnType<typeof tradeoffChart> {
  return tradeoffChart(rows.map((row) => ({
    label: `${row.system.startsWith('BM25') ? row.system.split(',')[0].replace('(', '') : 'l0 model'} ${row.ndcg10.toFixed(3)}`,
    series: row.system, flops: row.flops, ndcg10: row.ndcg10,
  })), { title: `${info.dataset} test: quality vs cost`, subtitle: `${info.documents} docs, ${info.queries} queries`, yTitle: `nDCG@10 (${info.dataset} test)` });
}

/** The demo's plots: nDCG@10 vs FLOPS for every row, and the held-out training curve when there is one. */
export async function writeDemoPlots(rows: SystemRow[], curve: { step: number; metrics: Record<string, number> }[], out: string,
  info: DemoPlotInfo): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const tradeoff = await writeChart(demoTradeoffChart(rows, info), path.join(out, 'demo-tradeoff'));
  files.tradeoffPng = tradeoff.png;
  files.tradeoffSvg = tradeoff.svg;
  if (curve.length > 0) {
    const points: CurvePoint[] = curve.flatMap((e) => [
      { step: e.step, value: e.metrics.ndcg10, series: 'held-out nDCG@10' },
      { step: e.step, value: e.metrics.recall100, series: 'held-out R@100' },
    ]);
    const c = await writeChart(trainingCurveChart(points, [], { title: `Held-out train queries (${info.holdOut}) over ${info.curveCorpus} docs`, yTitle: 'metric' }), path.join(out, 'demo-training-curve'));
    files.curvePng = c.png;
  }
  return files;
}
