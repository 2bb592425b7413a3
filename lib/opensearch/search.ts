/**
 * Runs inference-free queries against an index and writes a TREC run ("qid Q0 docid rank score tag"),
 * the format `l0sparse eval` scores. Queries are token lists (tokenised without special tokens) weighted
 * by the idf table, or explicit token -> weight maps.
 */
import { readLines } from '../data/lines';
import { formatTrecRunLine } from '../data/trec';
import { featureKey, type KeyPolicy } from '../export/token-keys';
import { backoffDelay, type BulkHttpResponse, ClusterUnavailableError, DEFAULT_RETRY, isRetryableStatus, type RetryHooks, type RetryPolicy } from './bulk';
import type { SearchTransport } from './client';
import { checkSparseVectorVocabulary } from './limits';
import {
  fitLinearQueryWeights, type IdfWeights, neuralSparseSearchBody, type QueryTerm, queryTermsForIds, queryTermsFromTokens, type QueryWeightStats,
  rankFeatureSearchBody, type SeismicMethodParameters, seismicMethodParametersFor, validateSeismicMethodParameters,
} from './queries';

export interface QueryInput {
  id: string;
  /** Query tokens; weights come from the idf table. */
  tokens?: string[];
  /** Or explicit token -> weight (used as is; weights <= 0 are dropped). */
  weights?: Record<string, number>;
  /** Or raw text, turned into weights by SearchOptions.encodeText. */
  text?: string;
}

/** Query texts -> token -> weight maps (e.g. lib/query's QueryEncoder, see weightsFromCsr). */
export type TextQueryEncoder = (texts: string[]) => Promise<Record<string, number>[]>;

/** Rows of a query CSR (column = vocab id) as token -> weight maps, for TextQueryEncoder. */
export function weightsFromCsr(csr: { indptr: Int32Array; indices: Int32Array; values: Float32Array }, idToToken: (id: number) => string): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let r = 0; r + 1 < csr.indptr.length; r++) {
    const row: Record<string, number> = Object.create(null);
    for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) row[idToToken(csr.indices[j])] = csr.values[j];
    out.push(row);
  }
  return out;
}

export type QueryMode = 'rank_feature' | 'neural_sparse';

export interface SearchOptions {
  transport: SearchTransport;
  index: string;
  field: string;
  /** rank_feature needs a rank_features field; neural_sparse works on both field types. */
  mode: QueryMode;
  fieldType: 'rank_features' | 'sparse_vector';
  idf: IdfWeights;
  keyPolicy?: KeyPolicy;
  /** token -> vocab id, required for sparse_vector fields (ids below 32,768, see limits.ts). */
  tokenToId?: Map<string, number>;
  /** sparse_vector only; unset ones default to k = this.k, top_n = all query tokens, heap_factor 1.0. */
  methodParameters?: SeismicMethodParameters;
  /** Needed when queries come as text. */
  encodeText?: TextQueryEncoder;
  k: number;
  tag?: string;
  concurrency?: number;
  retry?: RetryPolicy;
  retryHooks?: RetryHooks;
  onProgress?: (queries: number) => void;
}

export interface QueryFailure { qid: string; status: number; reason: string }

export interface SearchReport {
  queries: number;
  emptyQueries: number;
  lines: number;
  failures: QueryFailure[];
  termStats: QueryWeightStats;
  /** neural_sparse queries whose largest weight was above 64, sent scaled down (scores scaled back). */
  scaledQueries: number;
}

/**
 * Query terms of one input under the options (idf weighting, key policy, ids for sparse_vector). For
 * rank_feature queries, keys with a dot (possible under the keep policy) cannot be addressed and are
 * left out, counted as bad keys.
 */
export function termsOf(q: QueryInput, o: SearchOptions, stats: QueryWeightStats): QueryTerm[] {
  const terms = rawTermsOf(q, o, stats);
  if (o.mode !== 'rank_feature') return terms;
  const addressable = terms.filter((t) => !t.key.includes('.'));
  stats.badKey += terms.length - addressable.length;
  return addressable;
}

function rawTermsOf(q: QueryInput, o: SearchOptions, stats: QueryWeightStats): QueryTerm[] {
  if (q.weights) {
    const out: QueryTerm[] = [];
    for (const [token, w] of Object.entries(q.weights)) {
      if (!(typeof w === 'number' && Number.isFinite(w) && w > 0)) { stats.zeroWeight++; continue; }
      const key = o.fieldType === 'sparse_vector' ? (o.tokenToId?.has(token) ? String(o.tokenToId.get(token)) : null) : featureKey(token, o.keyPolicy ?? 'escape');
      if (key === null) { stats.badKey++; continue; }
      out.push({ key, weight: w });
    }
    return out;
  }
  const tokens = q.tokens ?? [];
  if (o.fieldType === 'sparse_vector') {
    if (!o.tokenToId) throw new TypeError('sparse_vector queries need a vocabulary (token -> id)');
    return queryTermsForIds(tokens, o.idf, o.tokenToId, stats);
  }
  return queryTermsFromTokens(tokens, o.idf, o.keyPolicy ?? 'escape', stats);
}

/**
 * The request body for already fitted terms (neural_sparse weights within (0, 64], see
 * fitLinearQueryWeights); on a sparse_vector field with the SEISMIC defaults of seismicMethodParametersFor.
 */
export function searchBody(terms: QueryTerm[], o: SearchOptions): Record<string, unknown> {
  if (o.mode === 'rank_feature') {
    if (o.fieldType !== 'rank_features') throw new RangeError('rank_feature queries need a rank_features field; use neural_sparse for sparse_vector');
    return rankFeatureSearchBody(o.field, terms, { size: o.k });
  }
  const method = o.fieldType === 'sparse_vector' ? seismicMethodParametersFor(o.methodParameters ?? {}, o.k, terms.length) : undefined;
  return neuralSparseSearchBody(o.field, terms, { size: o.k }, method);
}

/** Checks what does not change from query to query, before the first request. */
function checkSearchOptions(o: SearchOptions): void {
  if (!Number.isInteger(o.k) || o.k < 1) throw new RangeError(`k (hits per query) must be a positive integer, got ${o.k}`);
  if (o.mode === 'rank_feature' && o.fieldType !== 'rank_features') throw new RangeError('rank_feature queries need a rank_features field; use neural_sparse for sparse_vector');
  if (o.methodParameters && Object.keys(o.methodParameters).length) {
    if (o.fieldType !== 'sparse_vector') throw new RangeError('SEISMIC method parameters (top_n, heap_factor, k) apply to sparse_vector fields only');
    validateSeismicMethodParameters(o.methodParameters);
  }
  if (o.fieldType === 'sparse_vector' && o.tokenToId) {
    let maxId = -1;
    for (const id of o.tokenToId.values()) if (id > maxId) maxId = id;
    checkSparseVectorVocabulary(maxId + 1, 'the query vocabulary');
  }
}

async function searchWithRetry(o: SearchOptions, body: Record<string, unknown>): Promise<BulkHttpResponse> {
  const policy = o.retry ?? DEFAULT_RETRY;
  const sleep = o.retryHooks?.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    try {
      const res = await o.transport(o.index, body);
      if (!isRetryableStatus(res.status)) return res;
      reason = `HTTP ${res.status}`;
    } catch (e) {
      reason = `no response: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (attempt >= policy.maxRetries) throw new ClusterUnavailableError(`search giving up after ${attempt + 1} attempts: ${reason}`);
    const delayMs = backoffDelay(attempt, policy, o.retryHooks?.random);
    o.retryHooks?.onRetry?.({ attempt: attempt + 1, delayMs, reason, docs: 0 });
    await sleep(delayMs);
  }
}

/** Runs all queries, writing run lines in query order through `writeLine`. */
export async function searchToTrec(
  queries: AsyncIterable<QueryInput> | Iterable<QueryInput>, o: SearchOptions, writeLine: (line: string) => Promise<void>,
): Promise<SearchReport> {
  checkSearchOptions(o);
  const tag = o.tag ?? 'l0sparse';
  const report: SearchReport = { queries: 0, emptyQueries: 0, lines: 0, failures: [], termStats: { zeroWeight: 0, badKey: 0 }, scaledQueries: 0 };
  const run = async (q: QueryInput): Promise<string[]> => {
    const raw = termsOf(q, o, report.termStats);
    // rank_feature carries the weight as a boost, which has no upper limit; neural_sparse needs (0, 64].
    const { terms, scoreScale } = o.mode === 'neural_sparse' ? fitLinearQueryWeights(raw, report.termStats) : { terms: raw, scoreScale: 1 };
    if (terms.length === 0) { report.emptyQueries++; return []; }
    if (scoreScale !== 1) report.scaledQueries++;
    const res = await searchWithRetry(o, searchBody(terms, o));
    if (res.status < 200 || res.status >= 300) {
      const err = (res.body as { error?: { type?: string; reason?: string } } | null)?.error;
      report.failures.push({ qid: q.id, status: res.status, reason: `${err?.type ?? ''} ${err?.reason ?? JSON.stringify(res.body)?.slice(0, 300)}`.trim() });
      return [];
    }
    const hits = (res.body as { hits?: { hits?: { _id: string; _score: number }[] } }).hits?.hits ?? [];
    return hits.map((h, i) => formatTrecRunLine(q.id, h._id, i + 1, h._score * scoreScale, tag));
  };
  const width = o.concurrency ?? 4;
  let chunk: QueryInput[] = [];
  const drain = async () => {
    const texts = chunk.filter((q) => q.text !== undefined && !q.weights && !q.tokens);
    if (texts.length) {
      if (!o.encodeText) throw new TypeError(`query ${texts[0].id} is text; text queries need a tokenizer and idf (encodeText)`);
      const weights = await o.encodeText(texts.map((q) => q.text!));
      texts.forEach((q, i) => { q.weights = weights[i]; });
    }
    const results = await Promise.all(chunk.map(run));
    for (const lines of results) for (const l of lines) { await writeLine(l); report.lines++; }
    report.queries += chunk.length;
    o.onProgress?.(report.queries);
    chunk = [];
  };
  for await (const q of queries) {
    chunk.push(q);
    if (chunk.length >= width) await drain();
  }
  if (chunk.length) await drain();
  return report;
}

/**
 * Reads queries JSONL: {"id"|"_id"|"qid", "tokens": [...]}, {"id", "vector": {token: weight}}, or
 * {"_id", "text"} (BEIR queries.jsonl; needs SearchOptions.encodeText).
 */
export async function* readQueriesJsonl(file: string): AsyncGenerator<QueryInput> {
  for await (const { text: line, line: n } of readLines(file)) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try { parsed = JSON.parse(line); } catch (e) { throw new Error(`${file}:${n}: invalid JSON (${(e as Error).message})`); }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}:${n}: expected a JSON object`);
    const rec = parsed as { id?: unknown; _id?: unknown; qid?: unknown; tokens?: unknown; vector?: unknown; text?: unknown };
    const id = rec.id ?? rec._id ?? rec.qid;
    if (typeof id !== 'string' && typeof id !== 'number') throw new Error(`${file}:${n}: missing query id`);
    if (Array.isArray(rec.tokens)) yield { id: String(id), tokens: rec.tokens.map(String) };
    else if (rec.vector && typeof rec.vector === 'object') yield { id: String(id), weights: rec.vector as Record<string, number> };
    else if (typeof rec.text === 'string') yield { id: String(id), text: rec.text };
    else throw new Error(`${file}:${n}: needs "tokens" (array), "vector" (object) or "text" (string)`);
  }
}
