/**
 * SparseEncoder: an inference-free learned sparse retriever as users hold it — a BERT/DistilBERT masked LM
 * for documents (native, LibTorch) and a token-weight table for queries (no model at query time).
 * Loads and saves transformers and sentence-transformers model dirs (see model-dir.ts, save-layouts.ts).
 */
import { IdfTable } from '../idf/idf-table';
import { setNumThreads } from '../native/threads';
import type { ActivationName } from '../ops/sparse-head';
import { QueryEncoder } from '../query/query-encoder';
import type { Csr } from '../sparse/csr';
import { padRows } from '../tokenizer/padding';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { checkTexts, TextCheckOptions } from '../tokenizer/texts';
import { decodeRow } from './decode';
import { EncodeDtype, ResolvedEncodeDtype, resolveEncodeDtype } from './encode-dtype';
import { CsrAssembler, lengthSortedBatches } from './document-batches';
import { ModelDirSpec, ModelLayout, readModelDir } from '../model/model-dir';
import { MlmConfig, ModelPlacement, NativeMlmModel } from '../model/native-model';
import { startProgress } from '../io/progress';
import { saveHfLayout, saveStLayout } from '../model/save-layouts';
import { readStaticWeights } from '../model/static-weights';
import { configuredMaxLength, readTokenizerConfig } from '../model/tokenizer-files';

/** Max tokens per document when the model dir declares none (BERT's usual limit). */
const DEFAULT_MAX_LENGTH = 512;

export interface EncodeDocumentsOptions extends TextCheckOptions {
  /** Tokens per document incl. [CLS]/[SEP]; default the model dir's max length, at most the model's positions. */
  maxLength?: number;
  /** Documents per native call. Default 32. */
  batchSize?: number;
  /** Also cap each native call at this many tokens (documents are packed without padding). Default: no cap. */
  batchTokens?: number;
  /** Default: the model dir's pooling activation. */
  activation?: ActivationName;
  /** Extra log1p count of the l0 activation (1..3). Default: the model dir's. */
  k?: number;
  /** Zero [CLS], [SEP], [PAD], [UNK], [MASK] in the vectors, as the released models do at inference. Default true. */
  zeroSpecialTokens?: boolean;
  /** Progress bar on stderr (only on a TTY). Default true. */
  progress?: boolean;
  /** Intra-op threads for the native encoder (a process-wide setting). Default: unchanged. */
  threads?: number;
  /**
   * 'bfloat16': weights and activations in bfloat16 with float32 accumulation, the sparse head in bfloat16 (fast
   * on GPUs and CPUs with native bf16, slower than float32 elsewhere); 'auto': bfloat16 where it is native.
   * Default: L0SPARSE_ENCODE_DTYPE, else 'float32' (see encode-dtype.ts for why).
   */
  dtype?: EncodeDtype;
}

export interface SaveOptions {
  /** Default 'hf'. */
  layout?: ModelLayout;
}

interface EncodeRowSettings { batchSize: number; batchTokens?: number; activation: ActivationName; k: number; dtype: ResolvedEncodeDtype }

export class SparseEncoder {
  private constructor(
    private readonly model: NativeMlmModel,
    /** The document tokenizer; its ids are the vector columns. */
    readonly tokenizer: TextTokenizer,
    private readonly spec: ModelDirSpec,
    /** Default tokens per document. */
    readonly maxLength: number,
    /** Absent when the model dir has no query weights (no idf.json / SparseStaticEmbedding). */
    readonly queryEncoder: QueryEncoder | undefined,
    private readonly queryTokenizerConfig: Record<string, unknown> | undefined,
  ) {}

  /**
   * Loads a transformers (HF) or sentence-transformers SparseEncoder model dir; the document model goes to
   * `opts.device` ('cpu' by default, 'cuda' / 'cuda:N' with the CUDA variant on a GPU). Queries need no model.
   */
  static async load(dir: string, opts: ModelPlacement = {}): Promise<SparseEncoder> {
    const spec = readModelDir(dir);
    const tokenizer = TextTokenizer.fromDir(spec.document.tokenizerDir);
    const model = await NativeMlmModel.load(spec.document.modelDir, opts);
    try {
      const { config } = model;
      if (config.vocabSize !== tokenizer.vocabSize) {
        throw new Error(`${spec.document.modelDir}/config.json has vocab_size ${config.vocabSize} but the tokenizer ${tokenizer.file} has ${tokenizer.vocabSize} tokens: vector columns would not map to tokens`);
      }
      const maxLength = Math.min(spec.document.maxLength ?? DEFAULT_MAX_LENGTH, config.maxPositions);
      const { queryEncoder, queryTokenizerConfig } = loadQuerySide(spec, tokenizer, config);
      return new SparseEncoder(model, tokenizer, spec, maxLength, queryEncoder, queryTokenizerConfig);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /**
   * An encoder over a model already in memory (training's held-out evaluation, the demo), so that every
   * evaluation measures the same encode path that ships. The caller keeps owning `model`; this encoder has
   * no query side.
   */
  static fromModel(model: NativeMlmModel, tokenizer: TextTokenizer, document: { activation: ActivationName; k: number; maxLength: number }): SparseEncoder {
    if (model.config.vocabSize !== tokenizer.vocabSize) {
      throw new Error(`the model has vocab_size ${model.config.vocabSize} but the tokenizer ${tokenizer.file} has ${tokenizer.vocabSize} tokens`);
    }
    const spec: ModelDirSpec = { layout: 'hf', dir: '(in memory)', document: { modelDir: '', tokenizerDir: '', ...document } };
    return new SparseEncoder(model, tokenizer, spec, Math.min(document.maxLength, model.config.maxPositions), undefined, undefined);
  }

  get config(): MlmConfig {
    return this.model.config;
  }

  /** Where the document model runs: 'cpu' or 'cuda:N'. */
  get device(): string {
    return this.model.device;
  }

  get layout(): ModelLayout {
    return this.spec.layout;
  }

  /** The dir's document activation ('relu' = log1p(relu(x)); 'l0' = k more log1p). */
  get activation(): ActivationName {
    return this.spec.document.activation;
  }

  get k(): number {
    return this.spec.document.k;
  }

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }

  /** Document vectors, one CSR row per text in input order. Batches are formed from documents of similar length. */
  async encodeDocuments(texts: string[], opts: EncodeDocumentsOptions = {}): Promise<Csr> {
    checkTexts(texts, 'texts', opts);
    const maxLength = this.checkedMaxLength(opts.maxLength);
    const settings = this.encodeSettings(opts);
    return this.encodeRows(await this.tokenizer.encodeDocumentIds(texts, maxLength, opts), settings, opts);
  }

  /**
   * Documents already tokenized (token ids with [CLS]/[SEP], as `tokenizer.encodeDocumentIds` returns them) ->
   * vectors, in the rows' order: for pipelines that tokenize once to plan batches (lib/encode). Every row needs
   * 1..maxPositions ids; ids outside the vocabulary are rejected by the native side, naming the row.
   */
  async encodeDocumentRows(rows: readonly (readonly number[])[], opts: Omit<EncodeDocumentsOptions, 'maxLength' | 'allowEmpty'> = {}): Promise<Csr> {
    const maxPositions = this.config.maxPositions;
    rows.forEach((row, i) => {
      if (row.length < 1 || row.length > maxPositions) {
        throw new RangeError(`row ${i} has ${row.length} token ids; each row needs 1..${maxPositions} (the model's max_position_embeddings)`);
      }
    });
    return this.encodeRows(rows, this.encodeSettings(opts), opts);
  }

  private checkedMaxLength(requested: number | undefined): number {
    const maxLength = requested ?? this.maxLength;
    const maxPositions = this.config.maxPositions;
    if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > maxPositions) {
      throw new RangeError(`maxLength must be an integer in [2, ${maxPositions}] (the model's max_position_embeddings), got ${maxLength}`);
    }
    return maxLength;
  }

  /** The concrete dtype an encode with `dtype` (or the default) runs in on this encoder's device. */
  resolveDtype(dtype?: EncodeDtype): ResolvedEncodeDtype {
    return resolveEncodeDtype(dtype, this.device);
  }

  private encodeSettings(opts: EncodeDocumentsOptions): EncodeRowSettings {
    const batchSize = opts.batchSize ?? 32;
    const activation = opts.activation ?? this.activation;
    if (activation !== 'relu' && activation !== 'l0') throw new RangeError(`activation must be 'relu' or 'l0', got ${JSON.stringify(activation)}`);
    const k = opts.k ?? (this.k > 0 ? this.k : 1);
    if (activation === 'l0' && (!Number.isInteger(k) || k < 1 || k > 3)) throw new RangeError(`k must be an integer in 1..3, got ${k}`);
    const dtype = this.resolveDtype(opts.dtype);
    if (opts.threads !== undefined) setNumThreads(opts.threads);
    return { batchSize, batchTokens: opts.batchTokens, activation, k, dtype };
  }

  private async encodeRows(rows: readonly (readonly number[])[], settings: EncodeRowSettings, opts: EncodeDocumentsOptions): Promise<Csr> {
    const { activation, k, dtype } = settings;
    const batches = lengthSortedBatches(rows.map((r) => r.length), settings.batchSize, settings.batchTokens);
    const zeroTokenIds = (opts.zeroSpecialTokens ?? true) ? this.tokenizer.specialTokenIds : undefined;
    const padId = this.tokenizer.specialId('[PAD]') ?? this.config.padTokenId;
    const assembler = new CsrAssembler(rows.length, this.vocabSize);
    const bar = startProgress('encode', rows.length, opts.progress);
    try {
      for (const positions of batches) {
        const batch = padRows(positions.map((p) => rows[p]), padId);
        const vectors = await this.model.encode(batch.inputIds, batch.attentionMask, batch.batchSize, batch.seqLen, {
          activation, k: activation === 'l0' ? k : undefined, zeroTokenIds, dtype,
        });
        positions.forEach((p, r) => assembler.put(p, vectors, r));
        bar.increment(positions.length);
      }
    } finally {
      bar.stop();
    }
    return assembler.finish();
  }

  /** Inference-free query vectors: binary token presence × relu(idf), special tokens zeroed. */
  async encodeQueries(texts: string[], opts: TextCheckOptions = {}): Promise<Csr> {
    if (!this.queryEncoder) {
      throw new Error(`${this.spec.dir} has no query weights (idf.json or a SparseStaticEmbedding module), so it cannot encode queries`);
    }
    return this.queryEncoder.encode(texts, opts);
  }

  /** Row `row` of encoded vectors as [token, weight] pairs, heaviest first. */
  decode(vectors: Csr, row = 0, topK?: number): [string, number][] {
    return decodeRow(vectors, row, (id) => this.tokenizer.idToToken(id), topK);
  }

  /** Saves the encoder so that l0sparse, transformers and sentence-transformers load it. */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const layout = opts.layout ?? 'hf';
    const parts = {
      model: this.model,
      tokenizer: this.tokenizer,
      tokenizerConfig: this.spec.document.tokenizerConfig,
      maxLength: this.maxLength,
      activation: this.activation,
      k: this.k,
      query: this.queryEncoder && {
        tokenizer: this.queryEncoder.tokenizer,
        weights: this.queryEncoder.effectiveWeights(),
        tokenizerConfig: this.queryTokenizerConfig,
      },
    };
    if (layout === 'hf') await saveHfLayout(dir, parts);
    else if (layout === 'sentence-transformers') await saveStLayout(dir, parts);
    else throw new RangeError(`layout must be 'hf' or 'sentence-transformers', got ${JSON.stringify(layout)}`);
  }

  /** Frees the native model now instead of at garbage collection. */
  dispose(): void {
    this.model.dispose();
  }
}

function loadQuerySide(spec: ModelDirSpec, documentTokenizer: TextTokenizer, config: MlmConfig):
  { queryEncoder?: QueryEncoder; queryTokenizerConfig?: Record<string, unknown> } {
  const query = spec.query;
  if (!query) return {};
  const tokenizer = query.tokenizerDir ? TextTokenizer.fromDir(query.tokenizerDir) : documentTokenizer;
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new Error(`query tokenizer ${tokenizer.file} has ${tokenizer.vocabSize} tokens but the document model has vocab_size ${config.vocabSize}: query and document vectors would not share columns`);
  }
  const queryTokenizerConfig = query.tokenizerDir ? readTokenizerConfig(query.tokenizerDir) : undefined;
  if (query.kind === 'idf-json') {
    return { queryEncoder: QueryEncoder.fromIdf(tokenizer, IdfTable.load(query.file, tokenizer)), queryTokenizerConfig };
  }
  const weights = readStaticWeights(query.file);
  if (weights.length !== tokenizer.vocabSize) {
    throw new Error(`${query.file} holds ${weights.length} query weights but the vocabulary of ${tokenizer.file} has ${tokenizer.vocabSize} tokens`);
  }
  // sentence-transformers truncates queries to its tokenizer's model_max_length; do the same.
  const maxLength = configuredMaxLength(queryTokenizerConfig);
  return { queryEncoder: new QueryEncoder(tokenizer, weights, { maxLength }), queryTokenizerConfig };
}
