/** Relevance judgments: query id -> document id -> relevance value (0 = judged non-relevant, may be negative). */
export type Qrels = Map<string, Map<string, number>>;

/**
 * Retrieval results: query id -> document id -> score. The rank a run file states is not kept:
 * trec_eval ignores it and re-sorts by score, and so do we.
 */
export type Run = Map<string, Map<string, number>>;

/** One retrieved document, as a searcher produces it (already in its intended order). */
export interface Hit {
  docId: string;
  score: number;
}
