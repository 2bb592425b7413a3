/**
 * `l0sparse sweep`: the paper's grids at small scale. Three families, each point a short training run
 * from the same start followed by evaluation on the dataset's test split (SciFact unless `data` says otherwise):
 *  - FLOPS only: relu activation, no ℓ0 mask (threshold < 0), over λ;
 *  - ℓ0 mask: relu activation, documents with ≤ t nonzeros exempt from the regularizer, over t (λ fixed);
 *  - ℓ0 mask + ℓ0 activation: the mask and k extra log1p, over the activation count k (λ, t fixed).
 * Writes sweep.json, sweep.md and the FLOPS vs nDCG@10 Pareto plot (PNG + SVG), with BM25 for reference.
 */
import * as fs from 'fs';
import * as path from 'path';

import { isParetoOptimal, tradeoffChart, writeChart } from '../plot';
import { DEMO_DEFAULTS, demoDatasetName, formatBytes, runDemo, type DemoOptions, type SystemRow } from '../demo/run-demo';
import { writeFileAtomic } from '../io';

export interface SweepOptions {
  data?: string;
  /** The dataset's name in the plot and table (as for the demo: default the `data` folder's name, or SciFact). */
  name?: string;
  out: string;
  tokenizer?: string;
  steps: number;
  dim: number;
  layers: number;
  maxLength: number;
  queriesPerStep: number;
  /** Warm-up lengths of every point; default the demo's fractions of `steps`. */
  warmupSteps?: number;
  lambdaWarmup?: number;
  lambdas: number[];
  thresholds: number[];
  ks: number[];
  /** λ and t used by the families that do not sweep them. */
  lambda: number;
  threshold: number;
  /** Evaluate over at most this many documents (every judged one plus the first others); default all. */
  maxCorpus?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface SweepPoint {
  family: 'FLOPS only' | 'l0 mask' | 'l0 mask + l0 activation';
  label: string;
  lambda: number;
  threshold: number;
  activation: 'relu' | 'l0';
  k: number;
  ndcg10: number;
  recall100: number;
  flops: number;
  meanDocNnz: number;
  indexBytes: number;
  latencyMs: number;
  trainSeconds: number;
  pareto?: boolean;
}

export interface SweepResult {
  options: Omit<SweepOptions, 'log'>;
  /** The dataset's name (demoDatasetName). */
  dataset: string;
  bm25: SystemRow[];
  points: SweepPoint[];
  seconds: number;
  files: Record<string, string>;
}

export function sweepGrid(o: SweepOptions): Omit<SweepPoint, 'ndcg10' | 'recall100' | 'flops' | 'meanDocNnz' | 'indexBytes' | 'latencyMs' | 'trainSeconds'>[] {
  return [
    ...o.lambdas.map((lambda) => ({ family: 'FLOPS only' as const, label: `λ=${lambda}`, lambda, threshold: -1, activation: 'relu' as const, k: 0 })),
    ...o.thresholds.map((threshold) => ({ family: 'l0 mask' as const, label: `t=${threshold}`, lambda: o.lambda, threshold, activation: 'relu' as const, k: 0 })),
    ...o.ks.map((k) => ({ family: 'l0 mask + l0 activation' as const, label: `k=${k}`, lambda: o.lambda, threshold: o.threshold, activation: 'l0' as const, k })),
  ];
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const t0 = Date.now();
  const grid = sweepGrid(o);
  const points: SweepPoint[] = [];
  let bm25: SystemRow[] = [];
  for (const [i, g] of grid.entries()) {
    log(`sweep ${i + 1}/${grid.length}: ${g.family}, ${g.label} (λ=${g.lambda}, t=${g.threshold}, ${g.activation}${g.activation === 'l0' ? ` k=${g.k}` : ''})`);
    const opts: DemoOptions = {
      ...DEMO_DEFAULTS, data: o.data, name: o.name, warmupSteps: o.warmupSteps, lambdaWarmup: o.lambdaWarmup, out: path.join(o.out, 'points', `${i}-${g.family.replace(/\W+/g, '-')}-${g.label.replace(/\W+/g, '')}`),
      tokenizer: o.tokenizer, steps: o.steps, dim: o.dim, layers: o.layers, maxLength: o.maxLength, queriesPerStep: o.queriesPerStep,
      lambda: g.lambda, threshold: g.threshold, activation: g.activation, k: Math.max(1, g.k), evalEvery: 0,
      baselines: i === 0, plots: false, maxCorpus: o.maxCorpus, progress: o.progress, log,
    };
    const r = await runDemo(opts);
    if (i === 0) bm25 = r.rows.filter((row) => row.system.startsWith('BM25'));
    const m = r.rows.at(-1)!;
    points.push({ ...g, ndcg10: m.ndcg10, recall100: m.recall100, flops: m.flops, meanDocNnz: m.meanDocNnz, indexBytes: m.indexBytes, latencyMs: m.latencyMs, trainSeconds: r.seconds.train });
    log(`  nDCG@10 ${m.ndcg10.toFixed(4)}, FLOPS ${m.flops.toFixed(3)}, doc nnz ${m.meanDocNnz.toFixed(1)}`);
  }
  for (const p of points) p.pareto = isParetoOptimal(p, points);
  fs.mkdirSync(o.out, { recursive: true });
  const files: Record<string, string> = { json: path.join(o.out, 'sweep.json'), table: path.join(o.out, 'sweep.md') };
  const dataset = demoDatasetName(o);
  const chart = await writeSweepPlot(bm25, points, o, dataset);
  files.paretoPng = chart.png;
  files.paretoSvg = chart.svg;
  const result: SweepResult = { options: { ...o, log: undefined } as Omit<SweepOptions, 'log'>, dataset, bm25, points, seconds: (Date.now() - t0) / 1000, files };
  writeFileAtomic(files.json, JSON.stringify(result, null, 2) + '\n');
  writeFileAtomic(files.table, `${sweepHeading(dataset, o)}\n\n${formatSweepTable(result)}\n`);
  return result;
}

/** The line naming what a sweep measured: dataset, split and run size. */
export function sweepHeading(dataset: string, o: Pick<SweepOptions, 'dim' | 'layers' | 'steps' | 'maxCorpus'>): string {
  return `FLOPS vs nDCG@10 on ${dataset} test (small models trained here): D=${o.dim}, ${o.layers} layer(s), ${o.steps} steps per point${o.maxCorpus ? `, ${o.maxCorpus} docs` : ''}`;
}

export function formatSweepTable(r: Pick<SweepResult, 'bm25' | 'points'>): string {
  const lines = ['| family | setting | λ | t | activation | nDCG@10 | R@100 | FLOPS | doc nnz | index | Pareto |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const b of r.bm25) lines.push(`| ${b.system} | | | | | ${b.ndcg10.toFixed(4)} | ${b.recall100.toFixed(4)} | ${b.flops.toFixed(3)} | ${b.meanDocNnz.toFixed(1)} | ${formatBytes(b.indexBytes)} | |`);
  for (const p of r.points) {
    lines.push(`| ${p.family} | ${p.label} | ${p.lambda} | ${p.threshold < 0 ? '—' : p.threshold} | ${p.activation === 'l0' ? `l0, k=${p.k}` : 'relu'} | ${p.ndcg10.toFixed(4)} | ${p.recall100.toFixed(4)} | ${p.flops.toFixed(3)} | ${p.meanDocNnz.toFixed(1)} | ${formatBytes(p.indexBytes)} | ${p.pareto ? 'yes' : ''} |`);
  }
  return lines.join('\n');
}

/** The FLOPS vs nDCG@10 plot of a sweep (BM25 for reference) on `dataset`; writes sweep-pareto.png/.svg under o.out. */
export function writeSweepPlot(bm25: SystemRow[], points: SweepPoint[], o: Pick<SweepOptions, 'out' | 'dim' | 'layers' | 'steps' | 'maxCorpus'>,
  dataset: string): ReturnType<typeof writeChart> {
  return writeChart(sweepChart(bm25, points, o, dataset), path.join(o.out, 'sweep-pareto'));
}

/** The chart writeSweepPlot renders. */
export function sweepChart(bm25: SystemRow[], points: SweepPoint[], o: Pick<SweepOptions, 'dim' | 'layers' | 'steps' | 'maxCorpus'>,
  dataset: string): ReturnType<typeof tradeoffChart> {
  return tradeoffChart([
    ...bm25.map((b) => ({ label: b.system.split(',')[0].replace('(', ''), series: 'BM25', flops: b.flops, ndcg10: b.ndcg10 })),
    ...points.map((p) => ({ label: p.label, series: p.family, flops: p.flops, ndcg10: p.ndcg10 })),
  ], {
    title: `FLOPS vs nDCG@10 on ${dataset} test (small models trained here)`,
    subtitle: `D=${o.dim}, ${o.layers} layer(s), ${o.steps} steps per point${o.maxCorpus ? `, ${o.maxCorpus} docs` : ''}; lines join each family's Pareto-optimal points`,
    yTitle: `nDCG@10 (${dataset} test)`,
  });
}
