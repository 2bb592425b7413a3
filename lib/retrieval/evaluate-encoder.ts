/**
 * End-to-end retrieval quality of a document encoder: encode a corpus, index it, search the queries with
 * inference-free query vectors, score the run with trec_eval's definitions (BEIR conventions: identical
 * ids dropped, every judged query averaged). Used by training (held-out evaluation) and the demo.
 */
import { NativeMlmModel } from '../encoder/native-model';
import { efficiency, evaluate, type Qrels, type Run } from '../eval';
import { SparseIndex } from '../index/sparse-index';
import type { QueryEncoder } from '../query/query-encoder';
import { concatCsr } from '../sparse/csr-file';
import type { Csr } from '../sparse/csr';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';

export interface RetrievalDoc { id: string; text: string }

export interface EncoderEvalInput {
  model: NativeMlmModel;
  tokenizer: TextTokenizer;
  queryEncoder: QueryEncoder;
  corpus: RetrievalDoc[];
  queries: RetrievalDoc[];
  qrels: Qrels;
  activation: 'relu' | 'l0';
  k?: number;
  maxLength: number;
  batchSize?: number;
  /** Zero special tokens in document vectors (the released models' inference default). */
  zeroSpecialTokens?: boolean;
  /** Called with the number of documents encoded so far. */
  onDocuments?: (done: number) => void;
}

export interface EncoderEvalResult {
  ndcg10: number;
  recall100: number;
  mrr10: number;
  flops: number;
  meanDocNnz: number;
  meanQueryNnz: number;
  encodeSeconds: number;
  searchSeconds: number;
  docs: Csr;
  run: Run;
}

/** Encodes documents in length-sorted batches (less padding) and returns rows in input order. */
export async function encodeTexts(model: NativeMlmModel, tokenizer: TextTokenizer, texts: string[], opts: {
  activation: 'relu' | 'l0'; k?: number; maxLength: number; batchSize?: number; zeroSpecialTokens?: boolean;
  onDocuments?: (done: number) => void;
}): Promise<Csr> {
  const batchSize = opts.batchSize ?? 32;
  const ids = await tokenizer.encodeDocumentIds(texts, opts.maxLength, { allowEmpty: true });
  const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length);
  const zeroTokenIds = opts.zeroSpecialTokens === false ? undefined
    : Int32Array.from(Array.from({ length: tokenizer.vocabSize }, (_, i) => i).filter((i) => tokenizer.isSpecial(i)));
  const rows: { csr: Csr; positions: number[] }[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const positions = order.slice(start, start + batchSize);
    const seqLen = Math.max(1, ...positions.map((p) => ids[p].length));
    const inputIds = new Int32Array(positions.length * seqLen);
    const mask = new Int32Array(positions.length * seqLen);
    positions.forEach((p, r) => {
      inputIds.set(ids[p], r * seqLen);
      mask.fill(1, r * seqLen, r * seqLen + ids[p].length);
    });
    const csr = await model.encode(inputIds, mask, positions.length, seqLen, { activation: opts.activation, k: opts.k, zeroTokenIds });
    rows.push({ csr, positions });
    opts.onDocuments?.(Math.min(order.length, start + batchSize));
  }
  // Back to input order.
  const byPosition = new Array<{ csr: Csr; row: number }>(texts.length);
  for (const { csr, positions } of rows) positions.forEach((p, r) => { byPosition[p] = { csr, row: r }; });
  const indptr = new Int32Array(texts.length + 1);
  byPosition.forEach(({ csr, row }, p) => { indptr[p + 1] = indptr[p] + csr.indptr[row + 1] - csr.indptr[row]; });
  const indices = new Int32Array(indptr[texts.length]);
  const values = new Float32Array(indptr[texts.length]);
  byPosition.forEach(({ csr, row }, p) => {
    indices.set(csr.indices.subarray(csr.indptr[row], csr.indptr[row + 1]), indptr[p]);
    values.set(csr.values.subarray(csr.indptr[row], csr.indptr[row + 1]), indptr[p]);
  });
  return { indptr, indices, values, numCols: model.config.vocabSize };
}

export async function searchRun(docs: Csr, docIds: string[], queries: Csr, queryIds: string[], k: number): Promise<Run> {
  const index = new SparseIndex(docs.numCols);
  index.add(docs, docIds);
  await index.build();
  const result = await index.search(queries, k);
  const run: Run = new Map();
  result.ids().forEach((ids, q) => {
    const hits = new Map<string, number>();
    ids.forEach((id, r) => hits.set(id, result.scores[q * k + r]));
    run.set(queryIds[q], hits);
  });
  return run;
}

export async function evaluateEncoder(input: EncoderEvalInput): Promise<EncoderEvalResult> {
  const t0 = Date.now();
  const docs = await encodeTexts(input.model, input.tokenizer, input.corpus.map((d) => d.text), input);
  const t1 = Date.now();
  const queries = await input.queryEncoder.encode(input.queries.map((q) => q.text), { allowEmpty: true });
  const run = await searchRun(docs, input.corpus.map((d) => d.id), queries, input.queries.map((q) => q.id), 100);
  const t2 = Date.now();
  const e = evaluate(input.qrels, run, {
    measures: ['ndcg_cut.10', 'recall.100', 'recip_rank_cut.10'], averageOverAllJudged: true, ignoreIdenticalIds: true,
  });
  const eff = efficiency(queries, docs);
  return {
    ndcg10: e.summary.get('ndcg_cut_10') ?? 0, recall100: e.summary.get('recall_100') ?? 0,
    mrr10: e.summary.get('recip_rank_cut_10') ?? 0,
    flops: eff.flops, meanDocNnz: eff.meanDocNonZeros, meanQueryNnz: eff.meanQueryNonZeros,
    encodeSeconds: (t1 - t0) / 1000, searchSeconds: (t2 - t1) / 1000, docs, run,
  };
}
