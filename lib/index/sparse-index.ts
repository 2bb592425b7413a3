/**
 * SparseIndex: exact top-k retrieval over sparse document vectors (a small faiss-like surface over the
 * native inverted index: block-max MaxScore, batched queries on several threads).
 *
 *   const index = new SparseIndex(vocabSize);
 *   index.add(docsCsr, docIds);         // any number of batches
 *   await index.build();                // documents become searchable
 *   const hits = await index.search(queriesCsr, 10, { threads: 2 });
 *   hits.ids()[0];                      // external ids of query 0, best first
 *
 * Exact top-k by block-max MaxScore (or, on request, term-at-a-time accumulation) over postings
 * compressed in blocks of 64 (bit-packed doc gaps, frame-of-reference float32 bits: exact).
 * Scores are dot products (sums of q·w, accumulated in double, rounded to float). Ties rank the document
 * added first. A query that matches fewer than k documents is padded with index -1 and score -Infinity.
 */
import { callAsync, loadNative } from '../native/loader';
import { type Csr, csrRows } from '../sparse/csr';
import { sweepStaleTempsOnce } from '../io';

export interface IndexStats {
  numCols: number;
  /** Searchable documents. */
  docs: number;
  /** Documents added since the last build(). */
  pendingDocs: number;
  /** Columns with at least one posting. */
  terms: number;
  postings: number;
  blocks: number;
  /** Memory held by postings, block tables and ids (mapped pages included for a loaded index). */
  bytes: number;
  /** The compressed postings with their block tables (bytes / postings = bytes per posting). */
  postingBytes: number;
  /** Served from a memory-mapped file (true after load, false after a build). */
  mapped: boolean;
  /** How weights are stored: 'float32' (exact) or a quantized 'uint16' / 'uint8'. */
  weights: IndexWeights;
}

/** Weight storage of a saved index: exact float32, or Lucene/PISA-style quantized impacts. */
export type IndexWeights = 'float32' | 'uint16' | 'uint8';

export interface SaveOptions {
  /** 'float32' (default for a built index): exact scores. 'uint16' / 'uint8': weight = round(w / scale) x
   *  scale with scale = max / 65535 or 255 (never rounded to 0), smaller and approximate. A loaded
   *  quantized index is saved as it is. */
  weights?: IndexWeights;
  /** Quantized weights: one scale per term (default, finer) or one for the whole index. */
  scale?: 'term' | 'global';
}

/** How much of a file load() checks before it returns (see README "Index and search"):
 *  'lazy' (default): the header, section layout, term tables and ids (checksummed) now, each term's blocks
 *  the first time a search reads them; opening costs O(numCols + docs), not a pass over the postings.
 *  'full': every checksum and every block before returning (what `l0sparse check-index` does). */
export type IndexVerify = 'lazy' | 'full';

export interface LoadOptions {
  verify?: IndexVerify;
}

export interface SearchOptions {
  /** Worker threads for the batch (default: the addon's intra-op threads, see setNumThreads). */
  threads?: number;
  /** Preallocated outputs of queries·k entries each, written in place. */
  out?: { docIndices: Int32Array; scores: Float32Array };
  /** 'auto' (default, currently 'maxscore'): block-max MaxScore; 'exhaustive': term-at-a-time accumulation
   *  over whole lists (faster when weights are flat and bounds prune little). Both are exact. */
  algorithm?: 'auto' | 'maxscore' | 'exhaustive';
}

export interface SearchResult {
  k: number;
  numQueries: number;
  /** Row-major [numQueries, k] internal document indices, -1 where a query has fewer than k matches. */
  docIndices: Int32Array;
  /** Row-major [numQueries, k] scores, -Infinity for padding. */
  scores: Float32Array;
  /** External ids per query, best first (padding left out). */
  ids(): string[][];
}

interface SparseIndexNative {
  add(csr: Csr, ids: string[]): void;
  build(): Promise<void>;
  search(queries: Csr, k: number, options: { threads?: number; algorithm?: string; docIndices?: Int32Array; scores?: Float32Array }):
    Promise<{ docIndices: Int32Array; scores: Float32Array }>;
  save(path: string, options?: SaveOptions): Promise<void>;
  stats(): IndexStats;
  idsAt(docIndices: Int32Array): (string | null)[];
}

declare module '../native/loader' {
  interface NativeAddon {
    SparseIndexNative: {
      new (numCols: number): SparseIndexNative;
      load(path: string, options?: { verify?: IndexVerify }): Promise<SparseIndexNative>;
    };
  }
}

export class SparseIndex {
  private readonly native: SparseIndexNative;

  constructor(numCols: number);
  /** @internal wraps a loaded native index */
  constructor(numCols: number, native: SparseIndexNative);
  constructor(readonly numCols: number, native?: SparseIndexNative) {
    this.native = native ?? new (loadNative().SparseIndexNative)(numCols);
  }

  /** Copies a batch of documents (weights >= 0; zeros are dropped). Ids must be unique and non-empty.
   *  Every million postings the batches are inverted into compressed postings (synchronously), so a
   *  build's memory stays near the size of the index rather than of the vectors. */
  add(csr: Csr, ids: string[]): void {
    if (csr.numCols !== this.numCols) throw new RangeError(`add: the batch has numCols ${csr.numCols} but the index has ${this.numCols}`);
    this.native.add(csr, ids);
  }

  /** Makes every added document searchable (off the event loop). */
  build(): Promise<void> {
    return callAsync(() => this.native.build());
  }

  async search(queries: Csr, k: number, options: SearchOptions = {}): Promise<SearchResult> {
    const { docIndices, scores } = await callAsync(() =>
      this.native.search(queries, k, { threads: options.threads, algorithm: options.algorithm, ...options.out }));
    const numQueries = csrRows(queries);
    const native = this.native;
    return {
      k, numQueries, docIndices, scores,
      ids(): string[][] {
        const flat = native.idsAt(docIndices);
        const out: string[][] = [];
        for (let q = 0; q < numQueries; q++) {
          out.push(flat.slice(q * k, (q + 1) * k).filter((id): id is string => id !== null));
        }
        return out;
      },
    };
  }

  /** Writes the index atomically (temp file + fsync + rename); see README "Index and search" for the format. */
  save(path: string, options: SaveOptions = {}): Promise<void> {
    sweepStaleTempsOnce(path);
    return callAsync(() => this.native.save(path, { weights: options.weights, scale: options.scale }));
  }

  /** Maps an index written by save() (pages shared between processes, nothing copied); version-1 files are
   *  converted. A damaged or foreign file is rejected with a clear error — on load, or (verify 'lazy', the
   *  default) by the first search that reads a damaged term. A quantized (uint8/uint16) index takes no new
   *  documents. */
  static async load(path: string, options: LoadOptions = {}): Promise<SparseIndex> {
    const verify = options.verify ?? 'lazy';
    if (verify !== 'lazy' && verify !== 'full') throw new RangeError(`load: verify must be 'lazy' or 'full', got '${String(verify)}'`);
    const native = await callAsync((addon) => addon.SparseIndexNative.load(path, { verify }));
    return new SparseIndex(native.stats().numCols, native);
  }

  stats(): IndexStats {
    return this.native.stats();
  }

  /** External ids of internal document indices (null for -1). */
  idsAt(docIndices: Int32Array): (string | null)[] {
    return this.native.idsAt(docIndices);
  }
}
