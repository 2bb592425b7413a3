/**
 * Hard limits of OpenSearch and Lucene that what we send must respect, in one place: the query
 * builders, the ingest, the vector exporters and the ML Commons model export all check against them
 * before anything reaches a cluster, so the user gets our message instead of an HTTP 400 (or, worse,
 * silently wrong scores).
 */

/**
 * Lucene's `FeatureField.newLinearQuery(field, feature, weight)` refuses a weight outside (0, 64]
 * (MAX_WEIGHT = Long.SIZE). neural_sparse builds one such query per query token — on rank_features
 * fields, and as the exact fallback on sparse_vector fields — and the SPARSE_TOKENIZE model of ML
 * Commons emits idf.json values as those weights. The `rank_feature` query is not affected: its linear
 * function passes weight 1 and carries ours as a boost.
 */
export const MAX_LINEAR_QUERY_WEIGHT = 64;

/**
 * Why `FeatureField.newLinearQuery` would refuse `w`, or null. The server parses query weights as Java
 * floats, so the check is on the float32 value: 64.000001 rounds to 64 and passes, 64.0001 does not;
 * 1e-50 rounds to 0 and fails.
 */
export function linearQueryWeightProblem(w: number): string | null {
  if (typeof w !== 'number' || !Number.isFinite(w)) return 'is not a finite number';
  const f = Math.fround(w);
  if (!(f > 0)) return 'is not above 0 as a float32';
  if (f > MAX_LINEAR_QUERY_WEIGHT) return `is above ${MAX_LINEAR_QUERY_WEIGHT}`;
  return null;
}

/**
 * A sparse_vector (SEISMIC) field stores token ids as Java shorts: neural-search folds an id into
 * [0, 32768) (`SparseVector.prepareTokenForShortType`), so ids 32768 and above collide with smaller ones
 * and their weights merge by max (OpenSearch 3.3 to 3.8 failed on them instead). A vocabulary of at most
 * 32,768 tokens (ids 0..32767) is safe.
 */
export const SEISMIC_MAX_VOCABULARY = 32768;

/** Throws when a vocabulary of `size` ids cannot be keyed by id in a sparse_vector field; `what` names it. */
export function checkSparseVectorVocabulary(size: number, what: string): void {
  if (size <= SEISMIC_MAX_VOCABULARY) return;
  throw new RangeError(`${what} has ${size} token ids, but a sparse_vector (SEISMIC) field only keeps ids below ${SEISMIC_MAX_VOCABULARY}: ` +
    `OpenSearch folds larger ids modulo ${SEISMIC_MAX_VOCABULARY}, so different tokens would collide (3.3 to 3.8 fail on them). ` +
    'Use the rank_features layout (--type rank_features), which keys tokens by string and has no such limit.');
}
