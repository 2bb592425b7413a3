/**
 * BM25 IDF of WordPiece tokens over a corpus (docs/METHOD.md §2): idf = ln(1 + (N − df + 0.5) / (df + 0.5)),
 * N = number of documents, df = number of documents containing the token (each document counted once).
 * Documents are tokenized like queries (no special tokens, no truncation), so the table weighs exactly
 * the tokens a query can produce.
 *
 * Tokens that occur in no document (df = 0) are, by default, left out of the table, as the authors' reference
 * (`get_idf.py`) leaves them out: at query time they fall back to the absent-token weight 1.0 (METHOD.md §2).
 * The formula would give them ln(2N + 2), the largest weight of the table, i.e. a query word the corpus never
 * uses would outweigh every word it does use; that behaviour stays available as `unseen: 'max-idf'`.
 */
import { startProgress } from '../io/progress';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { IdfTable } from './idf-table';

export interface ComputeIdfOptions {
  /** Texts tokenized per native call. Default 256. */
  batchSize?: number;
  /** Number of documents, for the progress bar only. */
  total?: number;
  /** Progress bar on stderr (only on a TTY). Default true. */
  progress?: boolean;
  /** What tokens that occur in no document weigh (see UnseenIdf); default 'default-1'. Special tokens are always left out. */
  unseen?: UnseenIdf;
}

/**
 * The weight of a token no document contains. 'default-1': left out of the table, so it weighs 1.0 when queried
 * (the authors' reference; sentence-transformers would read such a bare table's absent tokens as 0, but the model
 * folders l0sparse saves carry every token's effective weight). 'max-idf': written with the df = 0 value
 * ln(1 + (N + 0.5)/0.5) = ln(2N + 2), so the table covers every non-special token.
 */
export type UnseenIdf = 'default-1' | 'max-idf';
export const UNSEEN_IDF_POLICIES: readonly UnseenIdf[] = ['default-1', 'max-idf'];

export function checkUnseenIdf(v: unknown, what: string): UnseenIdf {
  if (!(UNSEEN_IDF_POLICIES as readonly unknown[]).includes(v)) {
    throw new RangeError(`${what} must be ${UNSEEN_IDF_POLICIES.join(' or ')}, got ${JSON.stringify(v)}`);
  }
  return v as UnseenIdf;
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
  return idfFromFrequencies({ numDocs, docFreq }, tokenizer, checkUnseenIdf(opts.unseen ?? 'default-1', 'unseen'));
}

export function idfFromFrequencies(freq: DocumentFrequencies, tokenizer: TextTokenizer, unseen: UnseenIdf = 'default-1'): IdfTable {
  const entries: [string, number][] = [];
  for (let id = 0; id < freq.docFreq.length; id++) {
    if (tokenizer.isSpecial(id)) continue;
    if (freq.docFreq[id] === 0 && unseen === 'default-1') continue;
    entries.push([tokenizer.idToToken(id), bm25Idf(freq.numDocs, freq.docFreq[id])]);
  }
  return IdfTable.fromEntries(entries);
}
