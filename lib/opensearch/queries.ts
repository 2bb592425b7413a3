/**
 * Search bodies for the inference-free query side (docs/METHOD.md §2): q_j = relu(idf_j) for each distinct
 * query token (tokens missing from the idf table weigh 1.0), score = sum_j q_j * w_j(d).
 *  - rank_features: bool.should of rank_feature clauses with the linear function, boost = q_j
 *    (linear scores the stored value S itself, so the sum is exactly the dot product, up to Lucene's
 *    9-bit storage precision);
 *  - neural_sparse with raw query_tokens, on rank_features (token strings) or sparse_vector (token ids,
 *    with SEISMIC method_parameters). Each token becomes Lucene's linear feature query, whose weight
 *    must lie in (0, 64]: fitLinearQueryWeights scales a heavier query down (limits.ts).
 */
import { featureKey, isPlainFeatureName, type KeyPolicy } from '../export/token-keys';
import { linearQueryWeightProblem, MAX_LINEAR_QUERY_WEIGHT } from './limits';

export interface QueryTerm {
  /** The final key as indexed (already escaped, or a token id as a string for sparse_vector). */
  key: string;
  weight: number;
}

export interface QueryWeightStats {
  /** Distinct tokens whose weight was not positive (relu zeroes them), left out. */
  zeroWeight: number;
  /** Tokens left out because the key policy could not represent them. */
  badKey: number;
}

export type IdfWeights = Map<string, number> | Record<string, number>;

function idfOf(idf: IdfWeights, token: string): number | undefined {
  if (idf instanceof Map) return idf.get(token);
  return Object.prototype.hasOwnProperty.call(idf, token) ? idf[token] : undefined;
}

/**
 * Query vector from a token list: distinct tokens (term frequency ignored), weight relu(idf), 1.0 for
 * tokens absent from the table; special tokens are the caller's to strip (tokenise without them).
 */
export function queryTermsFromTokens(tokens: readonly string[], idf: IdfWeights, policy: KeyPolicy, stats?: QueryWeightStats): QueryTerm[] {
  const out: QueryTerm[] = [];
  const seen = new Set<string>();
  for (const token of tokens) {
    if (seen.has(token)) continue;
    seen.add(token);
    const raw = idfOf(idf, token);
    const weight = raw === undefined ? 1.0 : Math.max(0, raw);
    if (!(weight > 0) || !Number.isFinite(weight)) { if (stats) stats.zeroWeight++; continue; }
    const key = featureKey(token, policy);
    if (key === null) { if (stats) stats.badKey++; continue; }
    out.push({ key, weight });
  }
  return out;
}

/** Query vector for a sparse_vector field: token -> vocab id via `tokenToId`; unknown tokens are bad keys. */
export function queryTermsForIds(tokens: readonly string[], idf: IdfWeights, tokenToId: Map<string, number>, stats?: QueryWeightStats): QueryTerm[] {
  const terms = queryTermsFromTokens(tokens, idf, 'keep', stats);
  const out: QueryTerm[] = [];
  for (const t of terms) {
    const id = tokenToId.get(t.key);
    if (id === undefined) { if (stats) stats.badKey++; continue; }
    out.push({ key: String(id), weight: t.weight });
  }
  return out;
}

export interface SearchBodyOptions {
  size: number;
}

/**
 * bool.should of rank_feature linear clauses. Keys with a dot cannot be addressed (the query splits the
 * path at the last dot), so they are refused here: escape them at ingest and query alike.
 */
export function rankFeatureSearchBody(field: string, terms: readonly QueryTerm[], o: SearchBodyOptions): Record<string, unknown> {
  const should = terms.map((t) => {
    if (!isPlainFeatureName(t.key)) throw new RangeError(`feature '${t.key}' contains '.' and cannot be addressed by rank_feature (use the escape key policy)`);
    return { rank_feature: { field: `${field}.${t.key}`, boost: t.weight, linear: {} } };
  });
  return { size: o.size, _source: false, query: { bool: { should } } };
}

/**
 * SEISMIC query-time knobs of neural_sparse on a sparse_vector field. They act only on segments with at
 * least approximate_threshold documents; smaller segments are searched exactly.
 */
export interface SeismicMethodParameters {
  /** Query tokens kept, heaviest first; the others are ignored on SEISMIC segments. Integer > 0. */
  top_n?: number;
  /** A cluster is visited unless its summary score < (k-th best score so far) / heap_factor; > 0. */
  heap_factor?: number;
  /** Hits each SEISMIC segment returns. Integer > 0. */
  k?: number;
}

const SEISMIC_METHOD_PARAMETER_NAMES: readonly (keyof SeismicMethodParameters)[] = ['top_n', 'heap_factor', 'k'];

/** Checks the ranges neural-search's SparseAnnQueryBuilder enforces, naming the first violation. */
export function validateSeismicMethodParameters(p: SeismicMethodParameters): void {
  for (const key of Object.keys(p)) {
    if (!SEISMIC_METHOD_PARAMETER_NAMES.includes(key as keyof SeismicMethodParameters)) throw new RangeError(`unknown SEISMIC method parameter '${key}' (top_n, heap_factor, k)`);
  }
  for (const name of ['top_n', 'k'] as const) {
    const v = p[name];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new RangeError(`SEISMIC ${name} must be an integer > 0, got ${v}`);
  }
  const h = p.heap_factor;
  if (h !== undefined && !(typeof h === 'number' && Number.isFinite(h) && h > 0)) throw new RangeError(`SEISMIC heap_factor must be a finite number > 0, got ${h}`);
}

/**
 * What we send for one query of `queryTokens` distinct tokens asking for `size` hits. OpenSearch's own
 * defaults (k = 10, top_n = 10) would return 10 hits per segment and ignore all but the 10 heaviest
 * tokens whatever the requested depth, so unset values become: k = size (a run of depth 1000 needs 1000
 * candidates per segment), top_n = every query token (no token silently dropped), heap_factor = 1.0
 * (OpenSearch's default, sent so that the run records it).
 */
export function seismicMethodParametersFor(given: SeismicMethodParameters, size: number, queryTokens: number): Required<SeismicMethodParameters> {
  validateSeismicMethodParameters(given);
  return { top_n: given.top_n ?? Math.max(1, queryTokens), heap_factor: given.heap_factor ?? 1.0, k: given.k ?? size };
}

export interface FittedQuery {
  terms: QueryTerm[];
  /** Multiply the returned scores by this to get the scores of the unscaled query (1 when nothing was scaled). */
  scoreScale: number;
}

/**
 * Fits a query to the (0, 64] weight range of neural_sparse: when its largest weight is above 64 (as a
 * float32, as the server parses it), every weight is divided by max/64. The score is linear in the query
 * weights, so every document's score shrinks by the same factor and the ranking is unchanged;
 * scoreScale = max/64 scales the returned scores back. A weight that rounds to 0 as a float32 (after
 * scaling or not) would be refused too; it is left out and counted as a zero weight.
 */
export function fitLinearQueryWeights(terms: readonly QueryTerm[], stats?: QueryWeightStats): FittedQuery {
  let max = 0;
  for (const t of terms) if (t.weight > max) max = t.weight;
  const scale = Math.fround(max) > MAX_LINEAR_QUERY_WEIGHT ? max / MAX_LINEAR_QUERY_WEIGHT : 1;
  const out: QueryTerm[] = [];
  for (const t of terms) {
    // The heaviest token gets exactly 64, not max / (max / 64), which may round a hair above it.
    const weight = scale === 1 ? t.weight : (t.weight === max ? MAX_LINEAR_QUERY_WEIGHT : t.weight / scale);
    if (!(Math.fround(weight) > 0)) { if (stats) stats.zeroWeight++; continue; }
    out.push({ key: t.key, weight });
  }
  return { terms: out, scoreScale: scale };
}

/**
 * neural_sparse with raw query_tokens; pass methodParameters only for sparse_vector fields. Weights
 * must already lie in (0, 64] (fitLinearQueryWeights); anything else is refused here rather than by
 * the cluster.
 */
export function neuralSparseSearchBody(
  field: string, terms: readonly QueryTerm[], o: SearchBodyOptions, methodParameters?: SeismicMethodParameters,
): Record<string, unknown> {
  const queryTokens: Record<string, number> = Object.create(null);
  for (const t of terms) {
    const problem = linearQueryWeightProblem(t.weight);
    if (problem) throw new RangeError(`neural_sparse weight of token '${t.key}' is ${t.weight}, which ${problem}: query_tokens weights must lie in (0, ${MAX_LINEAR_QUERY_WEIGHT}] (scale the query with fitLinearQueryWeights)`);
    queryTokens[t.key] = t.weight;
  }
  const clause: Record<string, unknown> = { query_tokens: queryTokens };
  if (methodParameters && Object.keys(methodParameters).length) {
    validateSeismicMethodParameters(methodParameters);
    clause.method_parameters = { ...methodParameters };
  }
  return { size: o.size, _source: false, query: { neural_sparse: { [field]: clause } } };
}
