/**
 * The native training step (docs/METHOD.md §3) from TypeScript: `trainStep()` runs forward, inference-free
 * scoring, ranking loss + λ(step)·FLOPS-with-ℓ0-mask, backward, clipping and the AdamW step in LibTorch,
 * off the event loop. The trainer works on the parameters of a NativeMlmModel (shared, not copied), on the model's
 * device: batches are moved there, the AdamW state lives there.
 */
import { callAsync, loadNative } from '../native/loader';
import type { NativeMlmModel, MlmHandle } from '../model/native-model';
import type { Csr } from '../sparse/csr';
import type { DocumentBatch } from '../tokenizer/padding';

/** Knobs of one native step; defaults are the paper's (docs/METHOD.md §4). */
export interface TrainStepConfig {
  /** 'kl' (listwise distillation, the paper), 'margin_mse', or 'info_nce' (in-batch + hard negatives). */
  loss?: 'kl' | 'margin_mse' | 'info_nce';
  /** KL temperature (paper: 1). */
  temperature?: number;
  infoNceScale?: number;
  /** Document activation: 'relu' = log(1+relu(x)), 'l0' = k extra log1p (paper: l0, k = 1). */
  activation?: 'relu' | 'l0';
  k?: number;
  /** Score with relu weights; apply the extra logs only inside the regularizer. */
  decoupled?: boolean;
  /** Regularizer weight λ (0.04) reached after lambdaWarmup steps (10000) of quadratic warm-up. */
  lambda?: number;
  lambdaWarmup?: number;
  /** ℓ0 mask threshold t (200): only documents with more nonzeros are regularized; < 0 = plain FLOPS. */
  threshold?: number;
  /** FLOPS mean per document slot (the paper, default) or over all documents (sentence-transformers). */
  regularizerPerSlot?: boolean;
  lr?: number;
  weightDecay?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEps?: number;
  warmupSteps?: number;
  totalSteps?: number;
  /** Gradient clipping (1.0); 0 disables. */
  maxGradNorm?: number;
  gradAccumulation?: number;
  /** bfloat16 autocast on the model's device (CPU or CUDA: the mixed-precision mode on both; no float16 + scaler). */
  bf16?: boolean;
  seed?: number;
}

// Every key of TrainStepConfig, no more (the compiler checks both ways); a test checks it against the native key
// table that reads the config (trainConfigKeys(), native/train/train_config.cc), so the list exists once per language.
const STEP_KEY_SET: Record<keyof TrainStepConfig, true> = {
  loss: true, temperature: true, infoNceScale: true, activation: true, k: true, decoupled: true, lambda: true,
  lambdaWarmup: true, threshold: true, regularizerPerSlot: true, lr: true, weightDecay: true, adamBeta1: true,
  adamBeta2: true, adamEps: true, warmupSteps: true, totalSteps: true, maxGradNorm: true, gradAccumulation: true,
  bf16: true, seed: true,
};
export const TRAIN_STEP_KEYS = Object.keys(STEP_KEY_SET) as readonly (keyof TrainStepConfig)[];

export interface TrainBatch {
  /** Q·G documents, group q = rows q·G .. q·G+G-1, the positive first. */
  docs: DocumentBatch;
  groupSize: number;
  /** Q inference-free query vectors (token presence × idf). */
  queries: Csr;
  /** [Q·G] teacher scores, row-major [Q, G] (needed by 'kl' and 'margin_mse'). */
  teacher?: Float32Array;
}

/** A masked-LM pretraining batch (lib/train/mlm-masking.ts makes one from a token batch). */
export interface MlmBatch {
  /** The inputs as masked. */
  docs: DocumentBatch;
  /** [batchSize·seqLen] row-major: the original id at every predicted position, -100 elsewhere. */
  labels: Int32Array;
}

export interface MlmMetrics {
  /** Mean cross-entropy over the predicted positions (transformers' masked-LM loss). */
  loss: number;
  /** Share of predicted positions whose top logit is the original token. */
  accuracy: number;
  predicted: number;
  lr: number;
  /** Before clipping; 0 on micro-steps without an optimizer step. */
  gradNorm: number;
  seconds: number;
  threads: number;
  step: number;
  optimizerStepped: boolean;
}

export interface TrainMetrics {
  loss: number;
  rankingLoss: number;
  regularizerLoss: number;
  /** λ(step) used for this step. */
  lambda: number;
  lr: number;
  meanDocNnz: number;
  /** Σ_j p_q(j)·p_d(j) over this batch. */
  batchFlops: number;
  /** Fraction of documents exempt from the regularizer (nnz ≤ t). */
  maskRate: number;
  /** Gradient norm before clipping (0 on accumulation micro-steps). */
  gradNorm: number;
  seconds: number;
  /** Intra-op threads the step ran with (the current setNumThreads value). */
  threads: number;
  /** Optimizer steps done. */
  step: number;
  optimizerStepped: boolean;
}

export type TrainerHandle = { readonly __trainerHandle: unique symbol };

declare module '../native/loader' {
  interface NativeAddon {
    trainerCreate(model: MlmHandle, config: TrainStepConfig): TrainerHandle;
    trainConfigKeys(): string[];
    /** The batch crosses as it is: docs as a token batch, queries as a CSR object (docs/ARCHITECTURE.md, "The N-API boundary"). */
    trainerStep(trainer: TrainerHandle, batch: TrainBatch): Promise<TrainMetrics>;
    trainerMlmStep(trainer: TrainerHandle, batch: MlmBatch): Promise<MlmMetrics>;
    trainerSaveModel(trainer: TrainerHandle, dir: string): Promise<void>;
    trainerSaveState(trainer: TrainerHandle, dir: string): Promise<void>;
    trainerLoad(trainer: TrainerHandle, dir: string): Promise<number>;
    mlmInitBagOfWords(model: MlmHandle, opts: BagOfWordsInit): void;
  }
}

export interface BagOfWordsInit {
  embeddingStd?: number;
  headScale?: number;
  biasPerDim?: number;
  seed?: number;
}

/**
 * Re-initialises a (random) model so that its untrained document vector is the document's own tokens
 * (native/model/bag_of_words_init.h): training then starts from lexical matching.
 */
export function initBagOfWords(model: NativeMlmModel, opts: BagOfWordsInit = {}): void {
  loadNative().mlmInitBagOfWords(model.nativeHandle, opts);
}

export class NativeTrainer {
  private constructor(private readonly handle: TrainerHandle, readonly model: NativeMlmModel,
    readonly config: Readonly<TrainStepConfig>) {}

  static create(model: NativeMlmModel, config: TrainStepConfig = {}): NativeTrainer {
    for (const key of Object.keys(config)) {
      if (!(TRAIN_STEP_KEYS as readonly string[]).includes(key)) throw new RangeError(`train config: unknown key '${key}'`);
    }
    return new NativeTrainer(loadNative().trainerCreate(model.nativeHandle, config), model, Object.freeze({ ...config }));
  }

  /** One native step (micro-step when gradAccumulation > 1). Rejects, leaving parameters untouched, on a non-finite loss. */
  trainStep(batch: TrainBatch): Promise<TrainMetrics> {
    return callAsync((n) => n.trainerStep(this.handle, batch));
  }

  /**
   * One masked-LM pretraining step (`l0sparse pretrain`) with this trainer's optimizer, schedule and clipping: the
   * retrieval settings (loss, λ, t, activation) play no part. One process only.
   */
  mlmStep(batch: MlmBatch): Promise<MlmMetrics> {
    return callAsync((n) => n.trainerMlmStep(this.handle, batch));
  }

  /** Writes the model (config.json + model.safetensors) and optimizer.pt (AdamW state, step, RNG) into dir. */
  async saveCheckpoint(dir: string): Promise<void> {
    // State first: it refuses to save between accumulation micro-steps, before any file is written.
    await callAsync((n) => n.trainerSaveState(this.handle, dir));
    await callAsync((n) => n.trainerSaveModel(this.handle, dir));
  }

  /** Restores model weights and optimizer state from a checkpoint dir; resolves to the optimizer step. */
  loadCheckpoint(dir: string): Promise<number> {
    return callAsync((n) => n.trainerLoad(this.handle, dir));
  }
}
