/**
 * Encoded documents as they flow into every exporter: CSR batches (row = doc, column = vocab id) with
 * their doc ids, turned row by row into clean (key, weight) lists.
 */
import { type Csr, csrRows } from '../sparse/csr';
import { pruneVector, type PruneOptions, validatePruneOptions } from './pruning';
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
  /** Pruning applied after bad weights/keys are dropped. */
  prune?: PruneOptions;
}

/** One document ready to serialise: keys are already final strings. */
export interface CleanDoc {
  id: string;
  keys: string[];
  values: number[];
}

/** Precomputes the key table and validates options once; then cleans rows cheaply. */
export class DocVectorCleaner {
  private readonly keys: (string | null)[] | null;
  constructor(private readonly opts: VectorKeyOptions) {
    if (opts.prune) validatePruneOptions(opts.prune);
    if (opts.keyMode === 'token') {
      if (!opts.vocab) throw new TypeError('token keys need a vocabulary (id -> token string)');
      this.keys = vocabularyKeys(opts.vocab, opts.keyPolicy ?? 'escape');
    } else {
      this.keys = null;
    }
  }

  /** Cleans row r of a batch, adding what it drops to `counts`. */
  row(batch: DocVectorBatch, r: number, counts: DropCounts): CleanDoc {
    const { indptr, indices, values, numCols } = batch.csr;
    if (this.keys && numCols > this.keys.length)
      throw new RangeError(`CSR has ${numCols} columns but the vocabulary only ${this.keys.length} tokens`);
    const keptIdx: number[] = [];
    const keptVal: number[] = [];
    for (let j = indptr[r]; j < indptr[r + 1]; j++) {
      const w = values[j];
      const problem = weightProblem(w);
      if (problem) { counts[problem]++; continue; }
      if (this.keys && this.keys[indices[j]] === null) { counts.badKey++; continue; }
      keptIdx.push(indices[j]);
      keptVal.push(w);
    }
    let pruned = { indices: keptIdx, values: keptVal };
    if (this.opts.prune && this.opts.prune.type !== 'none') {
      pruned = pruneVector(keptIdx, keptVal, this.opts.prune);
      counts.pruned += keptIdx.length - pruned.indices.length;
    }
    if (pruned.indices.length === 0) counts.emptyDocs++;
    const keys = this.keys
      ? pruned.indices.map((c) => this.keys![c] as string)
      : pruned.indices.map((c) => String(c));
    return { id: batch.ids[r], keys, values: pruned.values };
  }

  /** All rows of a batch. */
  *rows(batch: DocVectorBatch, counts: DropCounts): Generator<CleanDoc> {
    const n = csrRows(batch.csr);
    if (batch.ids.length !== n) throw new RangeError(`batch has ${n} CSR rows but ${batch.ids.length} doc ids`);
    for (let r = 0; r < n; r++) yield this.row(batch, r, counts);
  }
}

/** Convenience for one-off keys outside a vocabulary table (queries). */
export { featureKey };
