import type { Hit } from '../eval/types';
import { quantizedLength } from './lucene-norms';

/**
 * BM25 over an in-memory inverted index, scored like Lucene's BM25Similarity (the scorer Anserini and
 * Pyserini use): idf = ln(1 + (N - df + 0.5) / (df + 0.5)); per term
 * idf · tf / (tf + k1 · (1 - b + b · dl / avgdl)), with dl the 1-byte quantised length Lucene stores and
 * avgdl the exact mean length. Lucene (since 8.0) leaves out the constant factor (k1 + 1) of the textbook
 * numerator; so do we, which keeps scores comparable with Anserini's and does not change any ranking.
 * Arithmetic follows Lucene's float precision per term so that ties fall the same way.
 * Repeated query terms count once each with a weight equal to their count, as in Anserini's
 * bag-of-words queries.
 */

export type Term = string | number;

/** Turns a text into the terms to index or search; may be async (e.g. a native tokenizer). */
export type TextAnalyzer = (text: string) => readonly Term[] | Promise<readonly Term[]>;

/** Analyses many texts in one call, for tokenizers whose per-call overhead dominates (native, async). */
export interface BatchAnalyzer {
  analyzeBatch(texts: string[]): Promise<readonly (readonly Term[])[]> | readonly (readonly Term[])[];
}

/** Documents are analysed this many at a time by a BatchAnalyzer. */
const ANALYZE_BATCH = 256;

/** Analyses texts with either kind of analyzer, in order. */
export async function analyzeAll(texts: string[], analyzer: TextAnalyzer | BatchAnalyzer): Promise<(readonly Term[])[]> {
  if (typeof analyzer === 'function') {
    const out: (readonly Term[])[] = [];
    for (const text of texts) out.push(await analyzer(text));
    return out;
  }
  const out = await analyzer.analyzeBatch(texts);
  if (out.length !== texts.length) throw new Error(`batch analyzer returned ${out.length} results for ${texts.length} texts`);
  return [...out];
}

export interface Bm25Parameters {
  /** Term-frequency saturation; Anserini's default 0.9. */
  k1?: number;
  /** Length normalisation; Anserini's default 0.4. */
  b?: number;
}

export interface Bm25Document {
  id: string;
  text: string;
}

interface Postings {
  docs: Int32Array;
  freqs: Int32Array;
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  /** Documents with at least one term (Lucene's docCount). */
  readonly docCount: number;
  readonly avgLength: number;
  /** Per document, 1 / (k1 · (1 - b + b · dl / avgdl)) in float precision, as Lucene caches it. */
  private readonly normInverse: Float32Array;

  constructor(readonly docIds: readonly string[], private readonly postings: Map<Term, Postings>,
    lengths: Int32Array, params: Bm25Parameters = {}) {
    this.k1 = params.k1 ?? 0.9;
    this.b = params.b ?? 0.4;
    if (!(this.k1 >= 0) || !(this.b >= 0 && this.b <= 1)) throw new RangeError(`BM25 needs k1 >= 0 and 0 <= b <= 1, got k1=${this.k1}, b=${this.b}`);
    let total = 0;
    let docCount = 0;
    for (const length of lengths) { total += length; if (length > 0) docCount++; }
    this.docCount = docCount;
    this.avgLength = Math.fround(docCount === 0 ? 1 : total / docCount);
    this.normInverse = new Float32Array(lengths.length);
    lengths.forEach((length, d) => {
      this.normInverse[d] = 1 / Math.fround(this.k1 * ((1 - this.b) + this.b * quantizedLength(length) / this.avgLength));
    });
  }

  get size(): number {
    return this.docIds.length;
  }

  /** Number of distinct terms. */
  get vocabularySize(): number {
    return this.postings.size;
  }

  documentFrequency(term: Term): number {
    return this.postings.get(term)?.docs.length ?? 0;
  }

  idf(term: Term): number {
    const df = this.documentFrequency(term);
    return Math.fround(Math.log(1 + (this.docCount - df + 0.5) / (df + 0.5)));
  }

  /** Exact top-k by score; ties by index order (Lucene's doc id order). Documents scoring 0 are not hits. */
  search(queryTerms: readonly Term[], k = 1000): Hit[] {
    const weights = new Map<Term, number>();
    for (const t of queryTerms) weights.set(t, (weights.get(t) ?? 0) + 1);
    const scores = new Float64Array(this.docIds.length);
    const touched: number[] = [];
    for (const [term, count] of weights) {
      const list = this.postings.get(term);
      if (!list) continue;
      const weight = Math.fround(count * this.idf(term));
      for (let p = 0; p < list.docs.length; p++) {
        const d = list.docs[p];
        const contribution = Math.fround(weight - weight / Math.fround(1 + Math.fround(list.freqs[p] * this.normInverse[d])));
        if (scores[d] === 0) touched.push(d);
        scores[d] += contribution;
      }
    }
    const ranked = touched.filter((d) => scores[d] > 0).map((d) => ({ d, s: Math.fround(scores[d]) }));
    ranked.sort((x, y) => (y.s - x.s) || (x.d - y.d));
    return ranked.slice(0, k).map(({ d, s }) => ({ docId: this.docIds[d], score: s }));
  }
}

export interface BuildOptions extends Bm25Parameters {
  /** Called after each batch of documents with its size (for progress display). */
  onDocuments?: (count: number) => void;
}

/** Analyses every document and builds the postings. Document ids must be unique. */
export async function buildBm25Index(docs: readonly Bm25Document[], analyzer: TextAnalyzer | BatchAnalyzer,
  options: BuildOptions = {}): Promise<Bm25Index> {
  const docIds: string[] = [];
  const seen = new Set<string>();
  const lengths: number[] = [];
  const building = new Map<Term, { docs: number[]; freqs: number[] }>();
  for (let start = 0; start < docs.length; start += ANALYZE_BATCH) {
    const batch = docs.slice(start, start + ANALYZE_BATCH);
    const analysed = await analyzeAll(batch.map((doc) => doc.text), analyzer);
    batch.forEach((doc, i) => {
      if (seen.has(doc.id)) throw new Error(`duplicate document id '${doc.id}'`);
      seen.add(doc.id);
      addDocument(docIds.length, analysed[i]);
      docIds.push(doc.id);
    });
    options.onDocuments?.(batch.length);
  }
  const postings = new Map<Term, Postings>();
  for (const [t, list] of building) postings.set(t, { docs: Int32Array.from(list.docs), freqs: Int32Array.from(list.freqs) });
  return new Bm25Index(docIds, postings, Int32Array.from(lengths), options);

  function addDocument(d: number, terms: readonly Term[]): void {
    lengths.push(terms.length);
    const counts = new Map<Term, number>();
    for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, tf] of counts) {
      let list = building.get(t);
      if (!list) building.set(t, (list = { docs: [], freqs: [] }));
      list.docs.push(d);
      list.freqs.push(tf);
    }
  }
}
