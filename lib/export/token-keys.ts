/**
 * Which string a vocabulary token becomes as a key of a rank_features object (or a neural_sparse
 * query_tokens map), and what happens to tokens that cannot be keys.
 *
 * Why dots matter: OpenSearch indexes a rank_features key containing a dot without complaint, but the
 * rank_feature query addresses a feature as "<field>.<feature>" and splits that path at the LAST dot
 * (RankFeatureQueryBuilder.doToQuery), so a feature "a.b" is looked up as feature "b" of field
 * "<field>.a", which does not exist, and the clause silently matches nothing. BERT's vocabulary has such
 * tokens ("." itself, "...", "##.").  An empty key cannot be addressed at all.
 *
 * Policies:
 *  - escape (default): '%' -> '%25' and '.' -> '%2E' (percent-encoding, so it is reversible and cannot
 *    collide with another token); applied identically at ingest and query time by this library.
 *  - keep: write the token unchanged (fine for neural_sparse queries, which build Lucene FeatureField
 *    queries directly; needed when queries are tokenised by an OpenSearch SPARSE_TOKENIZE model, which
 *    emits raw tokens). rank_feature queries skip such tokens, counted.
 *  - drop: leave such tokens out, counted.
 *  - reject: throw, naming the token.
 */
export type KeyPolicy = 'escape' | 'keep' | 'drop' | 'reject';
export const KEY_POLICIES: readonly KeyPolicy[] = ['escape', 'keep', 'drop', 'reject'];

export class TokenKeyError extends Error {}

export function escapeFeatureName(token: string): string {
  return token.replace(/%/g, '%25').replace(/\./g, '%2E');
}

export function unescapeFeatureName(key: string): string {
  return key.replace(/%2E/g, '.').replace(/%25/g, '%');
}

/** True when the token can be addressed by a rank_feature query as-is. */
export function isPlainFeatureName(token: string): boolean {
  return token.length > 0 && !token.includes('.');
}

/**
 * Maps a token string to its key under a policy; `null` means "leave this token out".
 * Percent signs are escaped only under the escape policy (so that escaping stays reversible).
 */
export const MAX_TERM_BYTES = 32766;

export function featureKey(token: string, policy: KeyPolicy): string | null {
  if (token.length === 0) {
    if (policy === 'reject') throw new TokenKeyError('empty token string cannot be a feature name');
    return null;
  }
  const key = policy === 'escape' ? escapeFeatureName(token) : token;
  if (key.length * 3 > MAX_TERM_BYTES && Buffer.byteLength(key, 'utf8') > MAX_TERM_BYTES) {
    if (policy === 'reject') throw new TokenKeyError(`token of ${Buffer.byteLength(key, 'utf8')} bytes exceeds Lucene's ${MAX_TERM_BYTES}-byte term limit`);
    return null;
  }
  if (policy === 'escape') return key;
  if (policy === 'keep' || !token.includes('.')) return token;
  if (policy === 'drop') return null;
  throw new TokenKeyError(`token ${JSON.stringify(token)} contains '.', which a rank_feature query cannot address ` +
    `(use --key-policy escape, drop or keep)`);
}

/** Keys for a whole vocabulary, computed once: id -> key, or null for tokens left out. */
export function vocabularyKeys(vocab: readonly string[], policy: KeyPolicy): (string | null)[] {
  return vocab.map((t) => featureKey(t, policy));
}
