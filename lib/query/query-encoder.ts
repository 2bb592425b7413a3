/**
 * Inference-free query encoder (docs/METHOD.md §2): no model runs at query time. A query is tokenized without
 * special tokens and q_j = 1[token j occurs] · relu(idf_j): presence is binary (term frequency is ignored)
 * and special tokens weigh 0. Only nonzero weights are stored in the CSR rows.
 */
import type { IdfTable } from '../idf/idf-table';
import type { Csr } from '../sparse/csr';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import type { TextCheckOptions } from '../tokenizer/texts';

export interface QueryEncoderOptions {
  /** Weight of tokens missing from the idf table. Default 1.0 (the OpenSearch convention). */
  absentWeight?: number;
  /** Zero special tokens ([UNK], [MASK], ... when they occur). Default true. */
  zeroSpecialTokens?: boolean;
  /**
   * Keep only the first maxLength tokens of a query, as a tokenizer with truncation does (sentence-transformers
   * truncates queries to the tokenizer's model_max_length). Default: no limit.
   */
  maxLength?: number;
}

export class QueryEncoder {
  /** relu(idf) per vocabulary id with special tokens already zeroed: encoding is one lookup per token. */
  private readonly tokenWeights: Float32Array;

  private readonly maxLength: number;

  constructor(readonly tokenizer: TextTokenizer, weights: Float32Array, opts: QueryEncoderOptions = {}) {
    this.maxLength = opts.maxLength ?? Infinity;
    if (!(this.maxLength === Infinity || (Number.isInteger(this.maxLength) && this.maxLength >= 1))) {
      throw new RangeError(`maxLength must be a positive integer, got ${opts.maxLength}`);
    }
    if (weights.length !== tokenizer.vocabSize) {
      throw new RangeError(`query weights have ${weights.length} entries but the vocabulary has ${tokenizer.vocabSize}`);
    }
    this.tokenWeights = weights.map((w, id) => {
      if (Number.isNaN(w)) throw new RangeError(`query weight of token ${JSON.stringify(tokenizer.idToToken(id))} (id ${id}) is NaN`);
      return w > 0 ? w : 0;
    });
    if (opts.zeroSpecialTokens ?? true) for (const id of tokenizer.specialTokenIds) this.tokenWeights[id] = 0;
  }

  static fromIdf(tokenizer: TextTokenizer, idf: IdfTable, opts: QueryEncoderOptions = {}): QueryEncoder {
    return new QueryEncoder(tokenizer, idf.toVector(tokenizer, opts.absentWeight ?? 1.0), opts);
  }

  /** Weight of one vocabulary id as the encoder applies it. */
  weightOf(id: number): number {
    return this.tokenWeights[id];
  }

  /** A copy of the applied weight of every vocabulary id (relu'd, special tokens zeroed when configured). */
  effectiveWeights(): Float32Array {
    return this.tokenWeights.slice();
  }

  async encode(texts: string[], opts: TextCheckOptions = {}): Promise<Csr> {
    const rows = await this.tokenizer.encodeQueries(texts, opts);
    const indptr = new Int32Array(rows.length + 1);
    const kept: number[][] = rows.map((ids) => [...new Set(ids.slice(0, this.maxLength))].filter((id) => this.tokenWeights[id] > 0).sort((a, b) => a - b));
    kept.forEach((ids, r) => { indptr[r + 1] = indptr[r] + ids.length; });
    const indices = new Int32Array(indptr[rows.length]);
    const values = new Float32Array(indptr[rows.length]);
    kept.forEach((ids, r) => {
      ids.forEach((id, j) => { indices[indptr[r] + j] = id; values[indptr[r] + j] = this.tokenWeights[id]; });
    });
    return { indptr, indices, values, numCols: this.tokenizer.vocabSize };
  }
}
