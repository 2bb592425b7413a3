/**
 * Weight hygiene shared by every export path: what counts as an indexable weight, how drops are
 * counted. How a float32 weight is written to JSON without noise digits is lib/sparse/float32.ts's.
 */

/**
 * Smallest positive normal float32. Lucene's FeatureField (behind rank_features) rejects values below
 * it ("featureValue must be a positive normal float"), so subnormal weights are dropped like zeros.
 */
export const MIN_NORMAL_FLOAT32 = 1.1754943508222875e-38;

/** Why entries or documents were left out; every drop is counted, never silent. */
export interface DropCounts {
  /** NaN or ±Infinity weights. */
  nonFinite: number;
  /** Weights <= 0 (and positive subnormals, which the engines reject as well). */
  nonPositive: number;
  /** Tokens whose key the target cannot hold (see token-keys.ts), under the drop policy. */
  badKey: number;
  /** Entries removed by the requested pruning. */
  pruned: number;
  /** Entries whose integer impact rounded to 0 (Anserini quantisation). */
  quantizedToZero: number;
  /** Documents left with no entry at all (still written/sent, with an empty vector). */
  emptyDocs: number;
}

export function newDropCounts(): DropCounts {
  return { nonFinite: 0, nonPositive: 0, badKey: 0, pruned: 0, quantizedToZero: 0, emptyDocs: 0 };
}

export function addDropCounts(into: DropCounts, from: DropCounts): DropCounts {
  for (const k of Object.keys(into) as (keyof DropCounts)[]) into[k] += from[k];
  return into;
}

export function totalDropped(c: DropCounts): number {
  return c.nonFinite + c.nonPositive + c.badKey + c.pruned + c.quantizedToZero;
}

/** One-line human summary, e.g. for the CLI's final report. */
export function describeDrops(c: DropCounts): string {
  return `dropped entries: ${c.nonFinite} non-finite, ${c.nonPositive} <= 0 or subnormal, ${c.badKey} unrepresentable token keys, ` +
    `${c.pruned} pruned, ${c.quantizedToZero} quantised to 0; ${c.emptyDocs} documents ended up empty`;
}

/** Classifies a weight; `null` means it is indexable. */
export function weightProblem(w: number): 'nonFinite' | 'nonPositive' | null {
  if (!Number.isFinite(w)) return 'nonFinite';
  if (w < MIN_NORMAL_FLOAT32) return 'nonPositive';
  return null;
}
