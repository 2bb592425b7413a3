/**
 * The default evaluation hook of a run: retrieval of the held-out training queries over the training
 * corpus (their positives are the relevant documents), with the model as it is at that step.
 */
import type { Qrels } from '../eval';
import { evaluateEncoder } from '../retrieval/evaluate-encoder';
import type { EvalContext } from './run';

export interface HeldOutEvalOptions {
  /** Evaluate on at most this many corpus documents: every held-out positive plus the first others. */
  maxCorpus?: number;
  batchSize?: number;
}

export function heldOutEvaluation(options: HeldOutEvalOptions = {}): (ctx: EvalContext) => Promise<Record<string, number>> {
  return async (ctx) => {
    const qrels: Qrels = new Map();
    const queries = new Map<string, string>();
    for (const g of ctx.heldOut) {
      queries.set(g.queryId, g.query);
      const judged = qrels.get(g.queryId) ?? new Map<string, number>();
      judged.set(g.docIds![0], 1);
      qrels.set(g.queryId, judged);
    }
    if (queries.size === 0) throw new Error('evaluation needs held-out queries (data.holdOut > 0)');
    let corpus = ctx.corpus;
    if (options.maxCorpus !== undefined && corpus.length > options.maxCorpus) {
      const needed = new Set([...qrels.values()].flatMap((m) => [...m.keys()]));
      const rest = corpus.filter((d) => !needed.has(d.id)).slice(0, Math.max(0, options.maxCorpus - needed.size));
      corpus = [...corpus.filter((d) => needed.has(d.id)), ...rest];
    }
    const r = await evaluateEncoder({
      model: ctx.model, tokenizer: ctx.tokenizer, queryEncoder: ctx.queryEncoder, corpus, qrels,
      queries: [...queries].map(([id, text]) => ({ id, text })),
      activation: ctx.config.step.decoupled ? 'relu' : (ctx.config.step.activation ?? 'l0'), k: ctx.config.step.k ?? 1,
      maxLength: ctx.config.maxLength, batchSize: options.batchSize,
    });
    return { ndcg10: r.ndcg10, recall100: r.recall100, mrr10: r.mrr10, flops: r.flops, meanDocNnz: r.meanDocNnz };
  };
}
