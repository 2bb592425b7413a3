/**
 * Encoded documents as they flow into every exporter: CSR batches (row = doc, column = vocab id) with
 * their doc ids, turned row by row into clean (key, weight) lists.
 */
import { type Csr, csrRows } from '../sparse/csr';
import { pruneCsr, type PruneSpec } from '../sparse/prune';
import { featureKey, type KeyPolicy, vocabularyKeys } from './token-keys';
import { type DropCounts, weightProblem } from './weights';

export interface DocVectorBatch {
  ids: string[];
  csr: Csr;
}

/** How vector keys are spelled: token strings (rank_features, Anserini, Seismic) or vocab ids (sparse_vector). */
export type KeyMode = 'token' | 'id';

export interface VectorKeyOptions {
  keyMode: KeyMode;
  /** id -> token string; required for keyMode 'token'. */
  vocab?: readonly string[];
  /** What to do with tokens a feature name cannot hold (token mode only). Default escape. */
  keyPolicy?: KeyPolicy;
  /** Pruning applied after bad weights/keys are dropped (the native pruneCsr; check it with checkPruneSpec first). */
  prune?: PruneSpec;
}

/** One document ready to serialise: keys are already final strings. */
export interface CleanDoc {
  id: string;
  keys: string[];
  values: number[];
}

/** Precomputes the key table once; then cleans whole batches (pruning them in one native call). */
export class DocVectorCleaner {
  private readonly keys: (string | null)[] | null;
  constructor(private readonly opts: VectorKeyOptions) {
    if (opts.keyMode === 'token') {
      if (!opts.vocab) throw new TypeError('token keys need a vocabulary (id -> token string)');
      this.keys = vocabularyKeys(opts.vocab, opts.keyPolicy ?? 'escape');
    } else {
      this.keys = null;
    }
  }

  /**
   * Cleans the rows of a batch that `include` selects (all by default), adding what it drops to `counts`;
   * rows left out come back as null and count nothing.
   */
  async batch(batch: DocVectorBatch, counts: DropCounts, include?: (row: number) => boolean): Promise<(CleanDoc | null)[]> {
    const n = csrRows(batch.csr);
    if (batch.ids.length !== n) throw new RangeError(`batch has ${n} CSR rows but ${batch.ids.length} doc ids`);
    const { indptr, indices, values, numCols } = batch.csr;
    if (this.keys && numCols > this.keys.length)
      throw new RangeError(`CSR has ${numCols} columns but the vocabulary only ${this.keys.length} tokens`);
    const rows: number[] = [];
    const cleanPtr = [0];
    const cleanIdx: number[] = [];
    const cleanVal: number[] = [];
    for (let r = 0; r < n; r++) {
      if (include && !include(r)) continue;
      rows.push(r);
      for (let j = indptr[r]; j < indptr[r + 1]; j++) {
        const problem = weightProblem(values[j]);
        if (problem) { counts[problem]++; continue; }
        if (this.keys && this.keys[indices[j]] === null) { counts.badKey++; continue; }
        cleanIdx.push(indices[j]);
        cleanVal.push(values[j]);
      }
      cleanPtr.push(cleanIdx.length);
    }
    let clean: Csr = { indptr: Int32Array.from(cleanPtr), indices: Int32Array.from(cleanIdx), values: Float32Array.from(cleanVal), numCols };
    if (this.opts.prune && clean.indices.length > 0) {
      const pruned = await pruneCsr(clean, this.opts.prune);
      counts.pruned += clean.indices.length - pruned.indices.length;
      clean = pruned;
    }
    const out: (CleanDoc | null)[] = new Array(n).fill(null);
    rows.forEach((r, k) => {
      const from = clean.indptr[k];
      const to = clean.indptr[k + 1];
      if (from === to) counts.emptyDocs++;
      const cols = clean.indices.subarray(from, to);
      const keys: string[] = new Array(to - from);
      for (let j = 0; j < cols.length; j++) keys[j] = this.keys ? this.keys[cols[j]] as string : String(cols[j]);
      out[r] = { id: batch.ids[r], keys, values: Array.from(clean.values.subarray(from, to)) };
    });
    return out;
  }
}

/** Convenience for one-off keys outside a vocabulary table (queries). */
export { featureKey };
