import { BeirDataset, documentText } from '../data/beir';
import { startProgress } from '../io/progress';
import type { Hit } from '../eval/types';
import { BatchAnalyzer, Bm25Index, Bm25Parameters, TextAnalyzer, analyzeAll, buildBm25Index } from './bm25-index';

export interface BeirBm25Options extends Bm25Parameters {
  /** Hits kept per query (Pyserini's BEIR runs keep 1000). */
  k?: number;
  /** Progress bars on stderr (only on a TTY); default true. */
  progress?: boolean;
}

export interface BeirBm25Result {
  index: Bm25Index;
  /** Hits per query, in the dataset's query order. */
  results: Map<string, Hit[]>;
  /** Queries whose analysis produced no term (they get no hits); listed so that is never silent. */
  emptyQueries: string[];
  indexSeconds: number;
  searchSeconds: number;
}

/** Indexes a loaded BEIR split (documents as title + " " + text) and searches every judged query. */
export async function bm25OnBeir(dataset: BeirDataset, analyzer: TextAnalyzer | BatchAnalyzer, options: BeirBm25Options = {}): Promise<BeirBm25Result> {
  const k = options.k ?? 1000;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const started = process.hrtime.bigint();
  const indexBar = startProgress('bm25 index ', dataset.corpus.length, options.progress);
  let index: Bm25Index;
  try {
    index = await buildBm25Index(dataset.corpus.map((doc) => ({ id: doc.id, text: documentText(doc) })), analyzer,
      { ...options, onDocuments: (n) => indexBar.increment(n) });
  } finally {
    indexBar.stop();
  }
  const indexed = process.hrtime.bigint();
  const results = new Map<string, Hit[]>();
  const emptyQueries: string[] = [];
  const searchBar = startProgress('bm25 search', dataset.queries.length, options.progress);
  try {
    const analysed = await analyzeAll(dataset.queries.map((q) => q.text), analyzer);
    dataset.queries.forEach((query, i) => {
      if (analysed[i].length === 0) emptyQueries.push(query.id);
      results.set(query.id, index.search(analysed[i], k));
      searchBar.increment();
    });
  } finally {
    searchBar.stop();
  }
  const searched = process.hrtime.bigint();
  return {
    index, results, emptyQueries,
    indexSeconds: Number(indexed - started) / 1e9,
    searchSeconds: Number(searched - indexed) / 1e9,
  };
}
