import { JudgedRanking } from './ranking';

/**
 * Per-query measures with trec_eval's exact definitions (trec_eval 9.x, measures m_*.c). Each takes a
 * JudgedRanking (see ranking.ts) and returns plain numbers; averaging over queries is in evaluate.ts.
 */

function isRel(r: JudgedRanking, rel: number): boolean {
  return rel >= 0 && rel >= r.relevanceLevel;
}

/** Relevant documents among the first `k` retrieved. */
export function relevantInTop(r: JudgedRanking, k: number): number {
  let n = 0;
  const end = Math.min(k, r.numRet);
  for (let i = 0; i < end; i++) if (isRel(r, r.rels[i])) n++;
  return n;
}

/** Average precision over the first `cutoff` ranks (map; map_cut when a cutoff is given). */
export function averagePrecision(r: JudgedRanking, cutoff = Infinity): number {
  if (r.numRel === 0) return 0;
  let sum = 0;
  let relSoFar = 0;
  const end = Math.min(cutoff, r.numRet);
  for (let i = 0; i < end; i++) {
    if (isRel(r, r.rels[i])) sum += ++relSoFar / (i + 1);
  }
  return sum / r.numRel;
}

export function precisionAt(r: JudgedRanking, k: number): number {
  return relevantInTop(r, k) / k;
}

export function recallAt(r: JudgedRanking, k: number): number {
  return r.numRel === 0 ? 0 : relevantInTop(r, k) / r.numRel;
}

/** Precision after numRel documents (R-precision). */
export function rPrecision(r: JudgedRanking): number {
  return r.numRel === 0 ? 0 : relevantInTop(r, r.numRel) / r.numRel;
}

/** 1 / rank of the first relevant document within `cutoff` (recip_rank; MRR@k with a cutoff), else 0. */
export function reciprocalRank(r: JudgedRanking, cutoff = Infinity): number {
  const end = Math.min(cutoff, r.numRet);
  for (let i = 0; i < end; i++) if (isRel(r, r.rels[i])) return 1 / (i + 1);
  return 0;
}

/** Relevant in the top k over the most that could be there, min(k, R) (trec_eval relative_P). */
export function relativePrecisionAt(r: JudgedRanking, k: number): number {
  const best = Math.min(k, r.numRel);
  return best === 0 ? 0 : relevantInTop(r, k) / best;
}

/** Precision and recall of the whole retrieved set, and their F-measure with weight beta on recall. */
export function setPrecision(r: JudgedRanking): number {
  return r.numRet === 0 ? 0 : r.numRelRet / r.numRet;
}

export function setRecall(r: JudgedRanking): number {
  return r.numRel === 0 ? 0 : r.numRelRet / r.numRel;
}

export function setF(r: JudgedRanking, beta = 1): number {
  const p = setPrecision(r);
  const rec = setRecall(r);
  return p + rec === 0 ? 0 : ((beta * beta + 1) * p * rec) / (beta * beta * p + rec);
}

export function successAt(r: JudgedRanking, k: number): number {
  return relevantInTop(r, k) > 0 ? 1 : 0;
}

/** Retrieved documents judged non-relevant (0 <= rel < level). */
export function nonRelevantJudgedRetrieved(r: JudgedRanking): number {
  let n = 0;
  for (let i = 0; i < r.numRet; i++) if (r.rels[i] >= 0 && r.rels[i] < r.relevanceLevel) n++;
  return n;
}

/**
 * bpref (Buckley & Voorhees 2004): for each retrieved relevant document, the fraction of the first
 * min(R, N) judged non-relevant documents ranked above it, subtracted from 1; unjudged documents are skipped.
 */
export function bpref(r: JudgedRanking): number {
  let numNonRel = 0;
  for (let level = 0; level < r.relevanceLevel && level < r.relLevels.length; level++) numNonRel += r.relLevels[level];
  let nonRelSoFar = 0;
  let sum = 0;
  for (let i = 0; i < r.numRet; i++) {
    const rel = r.rels[i];
    if (rel < 0) continue;
    if (rel < r.relevanceLevel) nonRelSoFar++;
    else sum += nonRelSoFar > 0 ? 1 - Math.min(nonRelSoFar, r.numRel) / Math.min(numNonRel, r.numRel) : 1;
  }
  return r.numRel === 0 ? sum : sum / r.numRel;
}

/**
 * Interpolated precision at recall fractions: the best precision at any rank whose recall reaches
 * the fraction. trec_eval turns a fraction into a number of relevant documents with lround.
 */
export function interpolatedPrecisionAtRecall(r: JudgedRanking, fractions: readonly number[]): number[] {
  const out = new Array<number>(fractions.length).fill(0);
  const needed = fractions.map((f) => roundHalfAway(f * r.numRel));
  if (r.numRet === 0) return out;
  // Walk from the bottom so the running maximum is "best precision at this rank or deeper".
  let cut = fractions.length - 1;
  while (cut >= 0 && needed[cut] > r.numRelRet) cut--;
  let best = r.numRelRet / r.numRet;
  let relSoFar = r.numRelRet;
  for (let i = r.numRet; i > 0 && relSoFar > 0; i--) {
    best = Math.max(best, relSoFar / i);
    if (isRel(r, r.rels[i - 1])) {
      while (cut >= 0 && relSoFar === needed[cut]) out[cut--] = best;
      relSoFar--;
    }
  }
  while (cut >= 0) out[cut--] = best;
  return out;
}

/** C's lround: halves round away from zero (Math.round rounds -0.5 up). */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** One relevance level's gain and how many judged documents have it. */
interface LevelGain {
  level: number;
  gain: number;
  count: number;
}

/**
 * Gains per relevance level: the level itself unless overridden ('ndcg.1=3,2=9'), ordered by increasing
 * gain as trec_eval's setup_gains does.
 */
function levelGains(r: JudgedRanking, overrides: ReadonlyMap<number, number>): LevelGain[] {
  const gains: LevelGain[] = [...overrides].map(([level, gain]) => ({ level, gain, count: 0 }));
  r.relLevels.forEach((count, level) => {
    const given = gains.find((g) => g.level === level);
    if (given) given.count = count;
    else gains.push({ level, gain: level, count });
  });
  // trec_eval compares gains as (int)(g1 - g2); a stable sort on that key gives the same order.
  return gains.map((g, i) => ({ g, i })).sort((a, b) => Math.trunc(a.g.gain - b.g.gain) || a.i - b.i).map((x) => x.g);
}

/**
 * nDCG over the whole ranking (trec_eval `ndcg`): discount 1/log2(rank + 1), gain = relevance (or the
 * given gain) for every level, ideal ranking from all judged documents with positive gain.
 */
export function ndcg(r: JudgedRanking, gainOverrides: ReadonlyMap<number, number> = new Map()): number {
  const gains = levelGains(r, gainOverrides);
  const gainOf = (rel: number) => gains.find((g) => g.level === rel)?.gain ?? 0;
  let dcg = 0;
  for (let i = 0; i < r.numRet; i++) {
    const gain = gainOf(r.rels[i]);
    if (gain !== 0) dcg += gain / Math.log2(i + 2);
  }
  let ideal = 0;
  let rank = 0;
  for (let g = gains.length - 1; g >= 0 && gains[g].gain > 0; g--) {
    for (let n = 0; n < gains[g].count; n++) ideal += gains[g].gain / Math.log2(rank++ + 2);
  }
  return ideal > 0 ? dcg / ideal : 0;
}

/**
 * nDCG truncated at each cutoff (trec_eval `ndcg_cut`): gain = relevance value, discount
 * 1/log2(rank + 1), ideal DCG from the judged documents sorted by relevance and truncated likewise.
 */
export function ndcgAt(r: JudgedRanking, cutoffs: readonly number[]): number[] {
  const maxCut = Math.max(0, ...cutoffs);
  const dcg = cumulativeDcg(Array.from(r.rels.subarray(0, Math.min(maxCut, r.numRet))), maxCut);
  const idealGains: number[] = [];
  for (let level = r.relLevels.length - 1; level >= 1 && idealGains.length < maxCut; level--) {
    for (let n = 0; n < r.relLevels[level] && idealGains.length < maxCut; n++) idealGains.push(level);
  }
  const ideal = cumulativeDcg(idealGains, maxCut);
  return cutoffs.map((k) => (ideal[k] > 0 ? dcg[k] / ideal[k] : 0));
}

/** out[k] = DCG of the first k gains (positive gains only), for k = 0..length. */
function cumulativeDcg(gains: readonly number[], length: number): Float64Array {
  const out = new Float64Array(length + 1);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const gain = i < gains.length ? gains[i] : 0;
    if (gain > 0) sum += gain / Math.log2(i + 2);
    out[i + 1] = sum;
  }
  return out;
}
