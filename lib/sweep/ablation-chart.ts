/**
 * Reading an ablation: the nDCG@10-vs-FLOPS plot of one dataset (every seed's point faint, the mean of each setting
 * solid, each family's front of means as a line, BM25 as reference points) and the dominance rule — a family
 * dominates another at a FLOPS level only if its worst seed beats the other family's best seed there.
 */
import type { TopLevelSpec } from 'vega-lite';

import { isParetoOptimal } from '../plot';
import type { AblationOptions, AblationRow } from './ablation';

const FAMILY_NAMES: Record<string, string> = {
  flops: 'FLOPS only', l0_mask: 'ℓ0 mask', l0_mask_act: 'ℓ0 mask + ℓ0 activation', bm25_word: 'BM25 (word)', bm25_wordpiece: 'BM25 (WordPiece)',
};

/** The trained rows grouped by setting (family, λ, quantile, k): the seeds of one point. */
export function settingGroups(rows: readonly AblationRow[]): AblationRow[][] {
  const groups = new Map<string, AblationRow[]>();
  for (const r of rows) {
    if (r.family.startsWith('bm25')) continue;
    const key = `${r.family}|${r.lambda}|${r.quantile ?? ''}|${r.k ?? ''}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  return [...groups.values()];
}

interface SettingMean {
  family: string;
  label: string;
  flops: number;
  ndcg10: number;
  worst: number;
  best: number;
}

export function settingMeans(rows: readonly AblationRow[]): SettingMean[] {
  return settingGroups(rows).map((g) => {
    const first = g[0];
    const mean = (f: (r: AblationRow) => number) => g.reduce((s, r) => s + f(r), 0) / g.length;
    const label = `λ=${first.lambda}${first.family === 'flops' ? '' : ` q=${first.quantile}`}${first.family === 'l0_mask_act' ? ` k=${first.k}` : ''}`;
    return { family: first.family, label, flops: mean((r) => r.flops), ndcg10: mean((r) => r.ndcg10),
      worst: Math.min(...g.map((r) => r.ndcg10)), best: Math.max(...g.map((r) => r.ndcg10)) };
  });
}

/**
 * One sentence per (setting of family A, family B) where A dominates: every seed of the A setting beats every seed of
 * every B setting that costs at most 10% more FLOPS. Or one sentence saying no family dominates.
 */
export function dominance(rows: readonly AblationRow[], tolerance = 0.1): string[] {
  const means = settingMeans(rows);
  const families = [...new Set(means.map((m) => m.family))];
  const out: string[] = [];
  for (const a of means) {
    for (const other of families.filter((f) => f !== a.family)) {
      const rivals = means.filter((b) => b.family === other && b.flops <= a.flops * (1 + tolerance));
      if (rivals.length === 0) continue;
      const best = Math.max(...rivals.map((b) => b.best));
      if (a.worst > best) {
        out.push(`${FAMILY_NAMES[a.family]} (${a.label}, FLOPS ${a.flops.toFixed(3)}) dominates ${FAMILY_NAMES[other]} at that cost: ` +
          `worst seed ${a.worst.toFixed(4)} > best seed ${best.toFixed(4)} of its ${rivals.length} setting(s) with ≤ ${(a.flops * (1 + tolerance)).toFixed(3)} FLOPS`);
      }
    }
  }
  return out.length ? out : ['no family dominates another at any FLOPS level: at every cost the seeds of the families overlap'];
}

export function ablationChart(rows: readonly AblationRow[], dataset: string, o: Pick<AblationOptions, 'dim' | 'layers' | 'steps' | 'seeds'>): TopLevelSpec {
  const seeds = rows.filter((r) => !r.family.startsWith('bm25')).map((r) => ({ series: FAMILY_NAMES[r.family], flops: r.flops, ndcg10: r.ndcg10, seed: r.seed }));
  const means = settingMeans(rows).map((m) => ({ ...m, series: FAMILY_NAMES[m.family] }));
  const fronts = means.filter((m) => isParetoOptimal(m, means.filter((x) => x.family === m.family)));
  const bm25 = rows.filter((r) => r.family.startsWith('bm25')).map((r) => ({ series: FAMILY_NAMES[r.family], flops: r.flops, ndcg10: r.ndcg10, label: FAMILY_NAMES[r.family] }));
  const x = { field: 'flops', type: 'quantitative', scale: { type: 'log' }, title: 'FLOPS (log scale)' };
  const y = { field: 'ndcg10', type: 'quantitative', scale: { zero: false }, title: `nDCG@10 (${dataset} test)` };
  const color = { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `ℓ0 ablation on ${dataset}`, subtitle: `D=${o.dim}, ${o.layers} layer(s), ${o.steps} steps, ${o.seeds.length} seed(s): faint = one seed, solid = mean, line = front of means` },
    width: 560, height: 360, background: 'white',
    layer: [
      { data: { values: seeds }, mark: { type: 'point', filled: true, size: 30, opacity: 0.35 }, encoding: { x, y, color } },
      { data: { values: fronts }, mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color, order: { field: 'flops', type: 'quantitative' } } },
      { data: { values: means }, mark: { type: 'point', filled: true, size: 90 }, encoding: { x, y, color, tooltip: [{ field: 'label' }, { field: 'flops' }, { field: 'ndcg10' }] } },
      { data: { values: bm25 }, mark: { type: 'point', shape: 'cross', filled: true, size: 120 }, encoding: { x, y, color } },
    ],
  } as TopLevelSpec;
}
