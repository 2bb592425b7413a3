import type { Qrels } from './types';

/** Relevance code of a retrieved document that is not in the qrels at all (trec_eval's RELVALUE_NONPOOL). */
export const NOT_JUDGED = -1;
/** Relevance code of a retrieved document judged with a negative value ("in pool, unjudged"). */
export const JUDGED_NEGATIVE = -2;

/**
 * One query's ranking reduced to what the measures need, exactly as trec_eval's form_res_rels builds it.
 */
export interface JudgedRanking {
  /** Relevance of the document at each rank (0-based), or NOT_JUDGED / JUDGED_NEGATIVE. */
  rels: Int32Array;
  /** relLevels[v] = number of judged documents with relevance v >= 0 (retrieved or not). */
  relLevels: number[];
  /** Judged documents with relevance >= the relevance level. */
  numRel: number;
  /** Retrieved documents with relevance >= the relevance level. */
  numRelRet: number;
  numRet: number;
  /** The relevance level the counts above used (trec_eval -l). */
  relevanceLevel: number;
}

export interface RankingOptions {
  /** Minimum relevance that counts as relevant (trec_eval -l); default 1. */
  relevanceLevel?: number;
  /** Keep only the best N documents after sorting (trec_eval -M); default unlimited. */
  maxResults?: number;
  /** Drop a retrieved document whose id equals the query id (BEIR's ignore_identical_ids). */
  ignoreIdenticalIds?: boolean;
}

/**
 * C strcmp order on the UTF-8 bytes. UTF-16 code-unit order agrees with it except for characters
 * above U+FFFF (surrogates) against U+E000..U+FFFF, so only that case needs care.
 */
export function compareStrcmp(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate && Math.max(x, y) >= 0xe000) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * trec_eval's order: score descending, ties broken by document id in *descending* strcmp order
 * (comp_sim_docno in form_res_rels.c). The rank column of a run never matters.
 */
export function sortTrecEval(docs: Map<string, number>): [string, number][] {
  return [...docs.entries()].sort((a, b) => (b[1] - a[1]) || compareStrcmp(b[0], a[0]));
}

export function judgeRanking(qid: string, judged: Map<string, number> | undefined,
  retrieved: Map<string, number> | undefined, options: RankingOptions = {}): JudgedRanking {
  const relevanceLevel = options.relevanceLevel ?? 1;
  let ranked = retrieved ? sortTrecEval(retrieved) : [];
  if (options.ignoreIdenticalIds) ranked = ranked.filter(([docId]) => docId !== qid);
  if (options.maxResults !== undefined && ranked.length > options.maxResults) ranked = ranked.slice(0, options.maxResults);

  const relLevels: number[] = [];
  let numRel = 0;
  for (const rel of judged?.values() ?? []) {
    // Negative judgments mean "in the pool but not judged": they count at no level.
    if (rel < 0) continue;
    while (relLevels.length <= rel) relLevels.push(0);
    relLevels[rel]++;
    if (rel >= relevanceLevel) numRel++;
  }
  const rels = new Int32Array(ranked.length);
  let numRelRet = 0;
  ranked.forEach(([docId], i) => {
    const rel = judged?.get(docId);
    rels[i] = rel === undefined ? NOT_JUDGED : rel < 0 ? JUDGED_NEGATIVE : rel;
    if (rel !== undefined && rel >= 0 && rel >= relevanceLevel) numRelRet++;
  });
  return { rels, relLevels, numRel, numRelRet, numRet: ranked.length, relevanceLevel };
}

/** Queries trec_eval evaluates: those judged, in strcmp order, restricted to those with results unless `complete`. */
export function queriesToEvaluate(qrels: Qrels, runQueries: Set<string>, complete: boolean): string[] {
  return [...qrels.keys()].filter((q) => complete || runQueries.has(q)).sort(compareStrcmp);
}
