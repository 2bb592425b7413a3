import * as path from 'path';

import type { DeviceName } from '../native/device';
import { callAsync, loadNative } from '../native/loader';
import type { Tensor } from '../native/tensor';
import type { Csr } from '../sparse/csr';
import { sweepStaleTempsOnce } from '../io';

/** The fields of a transformers config.json that the native BERT / DistilBERT masked LM uses. */
export interface MlmConfig {
  architecture: 'bert' | 'distilbert';
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /** 0 for DistilBERT (no token-type embeddings). */
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** The whole config.json (as it will be saved). */
  raw: Record<string, unknown>;
}

export interface EncodeOptions {
  /** 'relu': log(1 + relu(x)); 'l0': log1p applied k more times (docs/METHOD.md §1). */
  activation: 'relu' | 'l0';
  /** Extra log count of the l0 activation, 1..3 (default 1). */
  k?: number;
  /** Vocabulary ids whose weight is set to 0 before the CSR is built (special tokens at inference). */
  zeroTokenIds?: Int32Array;
  /** 'bfloat16' runs the encoder under autocast on the model's device and the head in bfloat16 (slower on CPUs without AMX). */
  dtype?: 'float32' | 'bfloat16';
}

/** Where the model's parameters live and its forward runs (see lib/native/device.ts). */
export interface ModelPlacement {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. A GPU needs the CUDA variant of the addon and a visible GPU. */
  device?: DeviceName | string;
}

/** Opaque native handle; only the addon can read it. */
export type MlmHandle = { readonly __mlmHandle: unique symbol };

interface NativeLoaded {
  handle: MlmHandle;
  /** 'cpu' or 'cuda:N' (an explicit index). */
  device: string;
  config: MlmConfig;
}

interface NativeEncodeArgs extends EncodeOptions {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  batchSize: number;
  seqLen: number;
}

declare module '../native/loader' {
  interface NativeAddon {
    mlmLoad(dir: string, opts?: ModelPlacement): Promise<NativeLoaded>;
    mlmCreate(config: object, opts?: { seed?: number } & ModelPlacement): Promise<NativeLoaded>;
    mlmEncode(handle: MlmHandle, args: NativeEncodeArgs): Promise<Csr>;
    mlmEncodeDense(handle: MlmHandle, args: NativeEncodeArgs): Promise<Tensor>;
    mlmSave(handle: MlmHandle, dir: string): Promise<void>;
    mlmDispose(handle: MlmHandle): void;
  }
}

/**
 * A BERT / DistilBERT masked-LM document encoder running natively (LibTorch): ids → MLM logits →
 * masked max-pool → sparse activation, returned as CSR rows (one per document, vocabulary-id columns).
 * Loads and saves transformers model directories (config.json + model.safetensors or a sharded index).
 */
export class NativeMlmModel {
  readonly config: MlmConfig;
  /** Where the parameters live: 'cpu' or 'cuda:N' ('cuda' is reported with its index). */
  readonly device: string;
  private handle: MlmHandle | null;

  private constructor(loaded: NativeLoaded) {
    this.config = Object.freeze(loaded.config);
    this.device = loaded.device;
    this.handle = loaded.handle;
  }

  /**
   * Loads a transformers model directory (model_type bert or distilbert) onto `opts.device` (default 'cpu'). A
   * device the addon cannot use ('cuda' in the CPU build or without a GPU, a malformed name) rejects with the reason.
   */
  static async load(dir: string, opts: ModelPlacement = {}): Promise<NativeMlmModel> {
    return new NativeMlmModel(await callAsync((n) => n.mlmLoad(dir, placement(opts))));
  }

  /**
   * A randomly initialised model (transformers' initialisation) from config.json fields; seeded. The draws are made
   * on the CPU and then moved to `opts.device`, so a seed gives the same model on every device.
   */
  static async create(config: Record<string, unknown>, opts: { seed?: number } & ModelPlacement = {}): Promise<NativeMlmModel> {
    return new NativeMlmModel(await callAsync((n) => n.mlmCreate(config, { ...opts, ...placement(opts) })));
  }

  /** The native handle, for other native modules (e.g. training) that work on the same parameters. */
  get nativeHandle(): MlmHandle {
    if (!this.handle) throw new Error('NativeMlmModel: the model was disposed');
    return this.handle;
  }

  /**
   * Encodes a padded batch: inputIds/attentionMask are row-major [batchSize, seqLen] (mask: nonzero = real
   * token). Returns one CSR row per document with only the nonzero weights, columns increasing.
   */
  encode(inputIds: Int32Array, attentionMask: Int32Array, batchSize: number, seqLen: number,
         opts: EncodeOptions): Promise<Csr> {
    return callAsync((n) => n.mlmEncode(this.nativeHandle, this.encodeArgs(inputIds, attentionMask, batchSize, seqLen, opts)));
  }

  /** Same as encode, as a dense [batchSize, vocabSize] float32 tensor (tests, inspection). */
  encodeDense(inputIds: Int32Array, attentionMask: Int32Array, batchSize: number, seqLen: number,
              opts: EncodeOptions): Promise<Tensor> {
    return callAsync((n) => n.mlmEncodeDense(this.nativeHandle, this.encodeArgs(inputIds, attentionMask, batchSize, seqLen, opts)));
  }

  /** Writes config.json + model.safetensors (HF names; loadable by transformers), each atomically. */
  save(dir: string): Promise<void> {
    for (const file of ['model.safetensors', 'config.json']) sweepStaleTempsOnce(path.join(dir, file));
    return callAsync((n) => n.mlmSave(this.nativeHandle, dir));
  }

  /** Releases the native model now (running calls finish first); later calls throw. */
  dispose(): void {
    if (!this.handle) return;
    loadNative().mlmDispose(this.handle);
    this.handle = null;
  }

  private encodeArgs(inputIds: Int32Array, attentionMask: Int32Array, batchSize: number, seqLen: number,
                     opts: EncodeOptions): NativeEncodeArgs {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
    if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be an integer >= 1, got ${seqLen}`);
    if (seqLen > this.config.maxPositions)
      throw new RangeError(`seqLen ${seqLen} exceeds the model's maxPositions ${this.config.maxPositions}`);
    if (!opts || (opts.activation !== 'relu' && opts.activation !== 'l0'))
      throw new RangeError(`opts.activation must be 'relu' or 'l0'`);
    return { inputIds, attentionMask, batchSize, seqLen, ...opts };
  }
}

/** Only the placement keys, and `device` only when given (the addon treats an absent device as 'cpu'). */
function placement(opts: ModelPlacement | undefined): ModelPlacement {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  return opts.device === undefined ? {} : { device: opts.device };
}
