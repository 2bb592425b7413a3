/**
 * Search bodies for the inference-free query side (METHOD.md §2): q_j = relu(idf_j) for each distinct
 * query token (tokens missing from the idf table weigh 1.0), score = sum_j q_j * w_j(d).
 *  - rank_features: bool.should of rank_feature clauses with the linear function, boost = q_j
 *    (linear scores the stored value S itself, so the sum is exactly the dot product, up to Lucene's
 *    9-bit storage precision);
 *  - neural_sparse with raw query_tokens, on rank_features (token strings) or sparse_vector (token ids,
 *    with SEISMIC method_parameters).
 */
import { featureKey, isPlainFeatureName, type KeyPolicy } from '../export/token-keys';

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

/** SEISMIC query-time knobs of neural_sparse on a sparse_vector field (all optional). */
export interface SeismicMethodParameters {
  top_n?: number;
  heap_factor?: number;
  k?: number;
}

/** neural_sparse with raw query_tokens; pass methodParameters only for sparse_vector fields. */
export function neuralSparseSearchBody(
  field: string, terms: readonly QueryTerm[], o: SearchBodyOptions, methodParameters?: SeismicMethodParameters,
): Record<string, unknown> {
  const queryTokens: Record<string, number> = Object.create(null);
  for (const t of terms) queryTokens[t.key] = t.weight;
  const clause: Record<string, unknown> = { query_tokens: queryTokens };
  if (methodParameters && Object.keys(methodParameters).length) clause.method_parameters = { ...methodParameters };
  return { size: o.size, _source: false, query: { neural_sparse: { [field]: clause } } };
}
