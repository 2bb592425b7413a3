/**
 * An index split by document range into shard files (`l0sparse index --shard-docs N`), searched as one:
 * every shard returns its exact top-k and the lists are merged, so the merged top-k is the exact top-k of
 * the whole collection (a document in the global top k is in its own shard's top k). Ties rank the
 * earlier shard first, then the earlier document, which is the order a single index over the same
 * documents would use when the shards are given in document order.
 */
import type { Csr } from '../sparse/csr';
import { csrRows } from '../sparse/csr';
import { type LoadOptions, SparseIndex, type SearchOptions } from './sparse-index';

export interface ShardedSearchResult {
  k: number;
  numQueries: number;
  /** Row-major [numQueries, k], -Infinity for padding. */
  scores: Float32Array;
  /** Row-major [numQueries, k]: the shard of each hit, -1 for padding. */
  shards: Int32Array;
  /** Row-major [numQueries, k]: the document index inside its shard, -1 for padding. */
  docIndices: Int32Array;
  /** External ids per query, best first (padding left out). */
  ids(): string[][];
}

/** Rows [start, end) of a CSR batch as a CSR of their own (copied). */
export function sliceCsrRows(csr: Csr, start: number, end: number): Csr {
  const base = csr.indptr[start];
  const indptr = new Int32Array(end - start + 1);
  for (let r = start; r <= end; r++) indptr[r - start] = csr.indptr[r] - base;
  return {
    indptr, numCols: csr.numCols,
    indices: Int32Array.from(csr.indices.subarray(base, csr.indptr[end])),
    values: Float32Array.from(csr.values.subarray(base, csr.indptr[end])),
  };
}

export class ShardedIndex {
  private constructor(readonly shards: SparseIndex[], readonly paths: string[]) {}

  get numCols(): number { return this.shards[0].numCols; }

  /** Loads (maps) every shard; all must share one vocabulary (numCols). */
  static async load(paths: string[], options: LoadOptions = {}): Promise<ShardedIndex> {
    if (paths.length === 0) throw new Error('ShardedIndex.load: no index files given');
    const shards = await Promise.all(paths.map((p) => SparseIndex.load(p, options)));
    shards.forEach((s, i) => {
      if (s.numCols !== shards[0].numCols)
        throw new Error(`${paths[i]} has ${s.numCols} columns but ${paths[0]} has ${shards[0].numCols}: shards must share one vocabulary`);
    });
    return new ShardedIndex(shards, paths);
  }

  /** Exact top-k over all shards. Shards are searched one after another, each on `threads` threads. */
  async search(queries: Csr, k: number, options: Omit<SearchOptions, 'out'> = {}): Promise<ShardedSearchResult> {
    const numQueries = csrRows(queries);
    const parts = [];
    for (const shard of this.shards) parts.push(await shard.search(queries, k, options));
    const scores = new Float32Array(numQueries * k).fill(-Infinity);
    const shards = new Int32Array(numQueries * k).fill(-1);
    const docIndices = new Int32Array(numQueries * k).fill(-1);
    const heads = new Int32Array(parts.length);
    for (let q = 0; q < numQueries; q++) {
      heads.fill(0);
      for (let i = 0; i < k; i++) {
        // The best head among the shards' sorted lists: higher score, then the earlier shard (its lists are
        // already ordered by doc inside a shard).
        let best = -1;
        let bestScore = -Infinity;
        for (let s = 0; s < parts.length; s++) {
          if (heads[s] >= k) continue;
          const at = q * k + heads[s];
          if (parts[s].docIndices[at] < 0) continue;
          if (best < 0 || parts[s].scores[at] > bestScore) {
            best = s;
            bestScore = parts[s].scores[at];
          }
        }
        if (best < 0) break;
        const at = q * k + i;
        scores[at] = bestScore;
        shards[at] = best;
        docIndices[at] = parts[best].docIndices[q * k + heads[best]];
        heads[best]++;
      }
    }
    const self = this;
    return {
      k, numQueries, scores, shards, docIndices,
      ids(): string[][] {
        const out: string[][] = [];
        // One idsAt call per shard with the hits that fall in it.
        const flat: (string | null)[] = new Array(numQueries * k).fill(null);
        self.shards.forEach((shard, s) => {
          const where: number[] = [];
          for (let j = 0; j < shards.length; j++) if (shards[j] === s) where.push(j);
          const names = shard.idsAt(Int32Array.from(where, (j) => docIndices[j]));
          where.forEach((j, n) => { flat[j] = names[n]; });
        });
        for (let q = 0; q < numQueries; q++) out.push(flat.slice(q * k, (q + 1) * k).filter((id): id is string => id !== null));
        return out;
      },
    };
  }
}
