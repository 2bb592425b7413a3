/**
 * End-to-end retrieval quality of a document encoder: encode a corpus, index it, search the queries with
 * inference-free query vectors, score the run with trec_eval's definitions (BEIR conventions: identical
 * ids dropped, every judged query averaged). Used by training (held-out evaluation) and the demo.
 */
import type { NativeMlmModel } from '../model/native-model';
import { SparseEncoder } from '../encode/sparse-encoder';
import { efficiency, evaluate, type Qrels, type Run } from '../eval';
import { SparseIndex } from '../index/sparse-index';
import type { QueryEncoder } from '../query/query-encoder';
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
  /** Progress bar while encoding (shown only on a TTY). Default false. */
  progress?: boolean;
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

/**
 * Document vectors of `texts` in input order, through SparseEncoder.encodeDocuments (the path users run),
 * with a model in memory; empty texts are allowed ([CLS] [SEP]).
 */
export async function encodeTexts(model: NativeMlmModel, tokenizer: TextTokenizer, texts: string[], opts: {
  activation: 'relu' | 'l0'; k?: number; maxLength: number; batchSize?: number; zeroSpecialTokens?: boolean; progress?: boolean;
}): Promise<Csr> {
  const encoder = SparseEncoder.fromModel(model, tokenizer, { activation: opts.activation, k: opts.k ?? 1, maxLength: opts.maxLength });
  return encoder.encodeDocuments(texts, {
    allowEmpty: true, batchSize: opts.batchSize, zeroSpecialTokens: opts.zeroSpecialTokens, progress: opts.progress ?? false,
  });
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
