/**
 * The ablation of docs/METHOD.md §3 over datasets and seeds (`l0sparse sweep`): does the ℓ0 mask, and the ℓ0
 * activation on top of it, buy a better quality/cost trade-off than the FLOPS regularizer alone?
 *  - FLOPS only (relu, no mask) at every λ;
 *  - ℓ0 mask (relu) at every λ, with t at quantiles of the per-document nonzero counts of the FLOPS-only model of
 *    the same (dataset, λ, seed) — t at quantile q exempts a share q of the documents;
 *  - ℓ0 mask + ℓ0 activation at every λ and k, with t at the median quantile.
 * Each point is a demo run (train → encode → index → test) in its own folder; a finished point is never rerun and an
 * interrupted one resumes from its checkpoint, so a stopped sweep continues where it was. Writes ablation.json (one
 * row per point and per BM25 baseline), ablation.md and one Pareto plot per dataset (every seed and the mean).
 */
import * as fs from 'fs';
import * as path from 'path';

import { DEFAULT_DEMO_VOCAB, DEMO_DEFAULTS, DOC_NNZ_QUANTILE_STEP, pretrainForDemo, runDemo, type DemoOptions, type DemoResult } from '../demo/run-demo';
import { writeFileAtomic } from '../io';
import { writeChart } from '../plot';
import { ablationChart, dominance, settingGroups } from './ablation-chart';
import { splitQueriesInHalf } from './query-split';

export type AblationFamily = 'flops' | 'l0_mask' | 'l0_mask_act';

export interface AblationDataset {
  name: string;
  dir: string;
  /** 'given': the folder has train and test qrels; 'half': a seeded 50/50 split of its test queries (splitSeed). */
  split: 'given' | 'half';
}

export interface AblationOptions {
  datasets: AblationDataset[];
  out: string;
  tokenizer?: string;
  steps: number;
  dim: number;
  layers: number;
  maxLength: number;
  queriesPerStep: number;
  lr?: number;
  /** Masked-LM pretraining steps on each dataset's corpus, once, before every point of it (0: bag-of-words start). */
  pretrainSteps: number;
  /** A transformers masked-LM folder every point starts from instead (its tokenizer unless `tokenizer` is set). */
  init?: string;
  lambdas: number[];
  /** Shares of documents the mask exempts (multiples of DOC_NNZ_QUANTILE_STEP in (0, 1)). */
  quantiles: number[];
  ks: number[];
  seeds: number[];
  splitSeed: number;
  maxCorpus?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

/** One row of ablation.json: a trained point, or a BM25 baseline (family bm25_*, no λ / t / k / seed). */
export interface AblationRow {
  dataset: string;
  family: AblationFamily | 'bm25_word' | 'bm25_wordpiece';
  lambda?: number;
  threshold?: number;
  /** The share of documents t was chosen to exempt (ℓ0 families). */
  quantile?: number;
  k?: number;
  seed?: number;
  steps?: number;
  ndcg10: number;
  recall100: number;
  flops: number;
  doc_nnz: number;
}

export function checkQuantiles(quantiles: readonly number[]): void {
  for (const q of quantiles) {
    const steps = q / DOC_NNZ_QUANTILE_STEP;
    if (!(q > 0 && q < 1) || Math.abs(steps - Math.round(steps)) > 1e-9) {
      throw new RangeError(`quantile ${q}: must be a multiple of ${DOC_NNZ_QUANTILE_STEP} in (0, 1)`);
    }
  }
}

/** t at quantile q of a FLOPS-only point's document nonzero counts. */
export function thresholdAt(docNnzQuantiles: readonly number[], q: number): number {
  return docNnzQuantiles[Math.round(q / DOC_NNZ_QUANTILE_STEP)];
}

function pointDir(o: AblationOptions, dataset: string, family: AblationFamily, lambda: number, seed: number, q?: number, k?: number): string {
  const parts = [family, `l${lambda}`, q === undefined ? '' : `q${q}`, k === undefined ? '' : `k${k}`, `s${seed}`].filter(Boolean);
  return path.join(o.out, 'points', dataset, parts.join('-'));
}

export async function runAblation(o: AblationOptions): Promise<AblationRow[]> {
  checkQuantiles(o.quantiles);
  if (o.seeds.length === 0 || o.lambdas.length === 0) throw new RangeError('sweep: needs at least one seed and one λ');
  const names = o.datasets.map((d) => d.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new RangeError(`sweep: two datasets are named '${twice}' (a dataset is named after its folder)`);
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rows: AblationRow[] = [];
  const total = o.datasets.length * o.seeds.length * o.lambdas.length * (1 + o.quantiles.length + o.ks.length);
  let done = 0;
  const median = o.quantiles.length ? o.quantiles[Math.floor(o.quantiles.length / 2)] : 0.5;
  for (const dataset of o.datasets) {
    const dir = dataset.split === 'half'
      ? (await splitQueriesInHalf(dataset.dir, path.join(o.out, 'data', `${dataset.name}-half-${o.splitSeed}`), o.splitSeed)).dir
      : dataset.dir;
    const shape: DemoOptions = { ...DEMO_DEFAULTS, out: path.join(o.out, 'pretrain', dataset.name), dim: o.dim, layers: o.layers,
      maxLength: o.maxLength, pretrainSteps: o.pretrainSteps, seed: o.seeds[0] };
    const init = o.init !== undefined ? o.init : o.pretrainSteps > 0
      ? await pretrainForDemo(shape, dir, o.tokenizer ?? DEFAULT_DEMO_VOCAB, o.progress !== false, log) : undefined;
    let baselines = true;
    const point = async (family: AblationFamily, lambda: number, seed: number, threshold: number, k: number, q?: number) => {
      const out = pointDir(o, dataset.name, family, lambda, seed, q, family === 'l0_mask_act' ? k : undefined);
      log(`sweep ${++done}/${total}: ${dataset.name} ${family} λ=${lambda} t=${threshold}${q === undefined ? '' : ` (q=${q})`}${family === 'l0_mask_act' ? ` k=${k}` : ''} seed ${seed}`);
      const r = await pointResult(out, {
        ...DEMO_DEFAULTS, data: dir, name: dataset.name, out, tokenizer: o.tokenizer, init, pretrainSteps: 0, steps: o.steps, dim: o.dim, layers: o.layers,
        maxLength: o.maxLength, queriesPerStep: o.queriesPerStep, lr: o.lr ?? DEMO_DEFAULTS.lr, lambda, threshold,
        activation: family === 'l0_mask_act' ? 'l0' : 'relu', k, seed, baselines, plots: false, maxCorpus: o.maxCorpus,
        progress: o.progress, log: () => undefined,
      });
      if (baselines) {
        for (const b of r.rows.filter((row) => row.system.startsWith('BM25'))) {
          rows.push({ dataset: dataset.name, family: b.system.includes('WordPiece') ? 'bm25_wordpiece' : 'bm25_word', ndcg10: b.ndcg10,
            recall100: b.recall100, flops: b.flops, doc_nnz: b.meanDocNnz });
        }
        baselines = false;
      }
      const m = r.rows.at(-1)!;
      rows.push({ dataset: dataset.name, family, lambda, threshold, quantile: q, k: family === 'l0_mask_act' ? k : 0, seed, steps: o.steps,
        ndcg10: m.ndcg10, recall100: m.recall100, flops: m.flops, doc_nnz: m.meanDocNnz });
      log(`  nDCG@10 ${m.ndcg10.toFixed(4)}, FLOPS ${m.flops.toFixed(3)}, doc nnz ${m.meanDocNnz.toFixed(1)}`);
      writeRows(o, rows);  // the points so far, readable while a long sweep runs
      return r;
    };
    for (const seed of o.seeds) {
      for (const lambda of o.lambdas) {
        const flops = await point('flops', lambda, seed, -1, 1);
        for (const q of o.quantiles) await point('l0_mask', lambda, seed, thresholdAt(flops.docNnzQuantiles, q), 1, q);
        for (const k of o.ks) await point('l0_mask_act', lambda, seed, thresholdAt(flops.docNnzQuantiles, median), k, median);
      }
    }
  }
  await writeAblation(o, rows);
  return rows;
}

/** A finished point's demo.json, or the demo run (which resumes its own training) when there is none yet. */
async function pointResult(out: string, options: DemoOptions): Promise<DemoResult> {
  const file = path.join(out, 'demo.json');
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoResult;
    if (Array.isArray(saved.docNnzQuantiles) && (!options.baselines || saved.rows.length > 1)) return saved;
  }
  return runDemo(options);
}

function writeRows(o: AblationOptions, rows: readonly AblationRow[]): void {
  fs.mkdirSync(o.out, { recursive: true });
  writeFileAtomic(path.join(o.out, 'ablation.json'), JSON.stringify(rows, null, 1) + '\n');
}

async function writeAblation(o: AblationOptions, rows: AblationRow[]): Promise<void> {
  writeRows(o, rows);
  const start = o.init !== undefined ? `from ${o.init}` : o.pretrainSteps > 0 ? `from a model pretrained ${o.pretrainSteps} masked-LM steps on each corpus` : 'from the bag-of-words start';
  const lines = [`Ablation: D=${o.dim}, ${o.layers} layer(s), ${o.steps} steps per point ${start}, seeds ${o.seeds.join(', ')}`, ''];
  for (const dataset of o.datasets) {
    const own = rows.filter((r) => r.dataset === dataset.name);
    await writeChart(ablationChart(own, dataset.name, o), path.join(o.out, `ablation-${dataset.name}`));
    lines.push(`## ${dataset.name}`, '', formatAblationTable(own), '', ...dominance(own).map((line) => `- ${line}`), '');
  }
  writeFileAtomic(path.join(o.out, 'ablation.md'), lines.join('\n'));
}

/** Mean ± spread over seeds per setting. */
export function formatAblationTable(rows: readonly AblationRow[]): string {
  const out = ['| family | λ | t (quantile) | k | seeds | nDCG@10 mean [min, max] | FLOPS mean | doc nnz mean |', '|---|---|---|---|---|---|---|---|'];
  for (const b of rows.filter((r) => r.family.startsWith('bm25'))) {
    out.push(`| ${b.family} | | | | | ${b.ndcg10.toFixed(4)} | ${b.flops.toFixed(3)} | ${b.doc_nnz.toFixed(1)} |`);
  }
  for (const g of settingGroups(rows)) {
    const n = g.map((r) => r.ndcg10);
    const mean = (f: (r: AblationRow) => number) => g.reduce((s, r) => s + f(r), 0) / g.length;
    const first = g[0];
    const t = first.family === 'flops' ? '—' : `${g.map((r) => r.threshold).join('/')} (${first.quantile})`;
    out.push(`| ${first.family} | ${first.lambda} | ${t} | ${first.family === 'l0_mask_act' ? first.k : ''} | ${g.length} | ` +
      `${mean((r) => r.ndcg10).toFixed(4)} [${Math.min(...n).toFixed(4)}, ${Math.max(...n).toFixed(4)}] | ${mean((r) => r.flops).toFixed(3)} | ${mean((r) => r.doc_nnz).toFixed(1)} |`);
  }
  return out.join('\n');
}
