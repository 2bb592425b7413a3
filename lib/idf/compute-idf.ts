/**
 * BM25 IDF of WordPiece tokens over a corpus (docs/METHOD.md §2): idf = ln(1 + (N − df + 0.5) / (df + 0.5)),
 * N = number of documents, df = number of documents containing the token (each document counted once).
 * Documents are tokenized like queries (no special tokens, no truncation), so the table weighs exactly
 * the tokens a query can produce.
 */
import { startProgress } from '../encoder/progress';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { IdfTable } from './idf-table';

export interface ComputeIdfOptions {
  /** Texts tokenized per native call. Default 256. */
  batchSize?: number;
  /** Number of documents, for the progress bar only. */
  total?: number;
  /** Progress bar on stderr (only on a TTY). Default true. */
  progress?: boolean;
  /**
   * Give tokens that occur in no document their formula weight (df = 0, the largest idf) instead of leaving
   * them out. Default true: a table covering the whole vocabulary means the same to l0sparse (absent = 1.0)
   * and to sentence-transformers (absent = 0). Special tokens are always left out.
   */
  includeUnseen?: boolean;
}

export function bm25Idf(numDocs: number, docFreq: number): number {
  return Math.log1p((numDocs - docFreq + 0.5) / (docFreq + 0.5));
}

export interface DocumentFrequencies {
  numDocs: number;
  /** Per vocabulary id. */
  docFreq: Int32Array;
}

/** Counts, per token id, the documents that contain it. */
export async function countDocumentFrequencies(texts: Iterable<string> | AsyncIterable<string>, tokenizer: TextTokenizer,
  opts: ComputeIdfOptions = {}): Promise<DocumentFrequencies> {
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const docFreq = new Int32Array(tokenizer.vocabSize);
  // The document number that last counted each token: dedups a document's tokens without a Set per document.
  const lastDoc = new Int32Array(tokenizer.vocabSize).fill(-1);
  const bar = startProgress('idf', opts.total ?? 0, opts.progress !== false && opts.total !== undefined);
  let numDocs = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = await tokenizer.encodeQueries(batch, { allowEmpty: true });
    for (const ids of rows) {
      for (const id of ids) {
        if (lastDoc[id] !== numDocs) { lastDoc[id] = numDocs; docFreq[id]++; }
      }
      numDocs++;
    }
    bar.increment(batch.length);
    batch = [];
  };
  try {
    for await (const text of texts) {
      if (typeof text !== 'string') throw new TypeError(`document ${numDocs + batch.length} is not a string (got ${typeof text})`);
      batch.push(text);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    bar.stop();
  }
  return { numDocs, docFreq };
}

/** BM25 IDF table of a corpus; throws when the corpus is empty. */
export async function computeIdf(texts: Iterable<string> | AsyncIterable<string>, tokenizer: TextTokenizer,
  opts: ComputeIdfOptions = {}): Promise<IdfTable> {
  const { numDocs, docFreq } = await countDocumentFrequencies(texts, tokenizer, opts);
  if (numDocs === 0) throw new RangeError('cannot compute IDF from an empty corpus');
  return idfFromFrequencies({ numDocs, docFreq }, tokenizer, opts.includeUnseen ?? true);
}

export function idfFromFrequencies(freq: DocumentFrequencies, tokenizer: TextTokenizer, includeUnseen = true): IdfTable {
  const entries: [string, number][] = [];
  for (let id = 0; id < freq.docFreq.length; id++) {
    if (tokenizer.isSpecial(id)) continue;
    if (freq.docFreq[id] === 0 && !includeUnseen) continue;
    entries.push([tokenizer.idToToken(id), bm25Idf(freq.numDocs, freq.docFreq[id])]);
  }
  return IdfTable.fromEntries(entries);
}
