/**
 * The project's charts: the quality/cost trade-off (nDCG@10 vs FLOPS, BM25 and learned models) and
 * training curves. Each returns a Vega-Lite spec; render with renderVegaLite / writeChart.
 */
import type { TopLevelSpec } from 'vega-lite';

export interface TradeoffPoint {
  /** Label shown next to the point. */
  label: string;
  /** Series (colour): e.g. 'BM25', 'ℓ0 mask', 'FLOPS only'. */
  series: string;
  flops: number;
  ndcg10: number;
  /** Draw the series as a line through its Pareto-optimal points. */
}

/** nDCG@10 against FLOPS (log scale), one colour per series, labelled points, a line per series' Pareto front. */
export function tradeoffChart(points: TradeoffPoint[], options: { title?: string; subtitle?: string; yTitle?: string; width?: number; height?: number; labels?: boolean } = {}): TopLevelSpec {
  const fronts = points.filter((p) => isParetoOptimal(p, points.filter((q) => q.series === p.series)));
  const layers: object[] = [
    {
      data: { values: fronts },
      mark: { type: 'line', strokeWidth: 1.5, opacity: 0.6 },
      encoding: {
        x: { field: 'flops', type: 'quantitative' },
        y: { field: 'ndcg10', type: 'quantitative' },
        color: { field: 'series', type: 'nominal' },
        order: { field: 'flops', type: 'quantitative' },
      },
    },
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 90 },
      encoding: {
        x: { field: 'flops', type: 'quantitative', scale: { type: 'log' }, title: 'FLOPS (expected multiply-adds per query-document pair, log scale)' },
        y: { field: 'ndcg10', type: 'quantitative', scale: { zero: false }, title: options.yTitle ?? 'nDCG@10' },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 } },
        shape: { field: 'series', type: 'nominal', legend: null },
        tooltip: [{ field: 'label' }, { field: 'flops' }, { field: 'ndcg10' }],
      },
    },
  ];
  if (options.labels !== false) {
    layers.push({
      data: { values: points },
      mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10 },
      encoding: {
        x: { field: 'flops', type: 'quantitative' },
        y: { field: 'ndcg10', type: 'quantitative' },
        text: { field: 'label' },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title ? { text: options.title, subtitle: options.subtitle } : undefined,
    width: options.width ?? 560,
    height: options.height ?? 360,
    background: 'white',
    layer: layers,
  } as TopLevelSpec;
}

/** A point is Pareto-optimal when no other point of its set has both lower-or-equal FLOPS and higher-or-equal nDCG (one strictly). */
export function isParetoOptimal(p: { flops: number; ndcg10: number }, set: { flops: number; ndcg10: number }[]): boolean {
  return !set.some((q) => q !== p && q.flops <= p.flops && q.ndcg10 >= p.ndcg10 && (q.flops < p.flops || q.ndcg10 > p.ndcg10));
}

export interface CurvePoint { step: number; value: number; series: string }

/** Held-out (or test) metric per training step, with optional horizontal reference lines (e.g. BM25). */
export function trainingCurveChart(points: CurvePoint[], references: { label: string; value: number }[] = [],
  options: { title?: string; yTitle?: string; width?: number; height?: number } = {}): TopLevelSpec {
  const layers: object[] = [{
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: options.yTitle ?? 'nDCG@10' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 400 } },
    },
  }];
  if (references.length > 0) {
    layers.push({
      data: { values: references },
      mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
      encoding: { y: { field: 'value', type: 'quantitative' } },
    }, {
      data: { values: references },
      mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray', fontSize: 10 },
      encoding: { y: { field: 'value', type: 'quantitative' }, x: { datum: 0, type: 'quantitative' }, text: { field: 'label' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title,
    width: options.width ?? 420,
    height: options.height ?? 280,
    background: 'white',
    layer: layers,
  } as TopLevelSpec;
}
