import { callAsync } from '../native/loader';
import type { Tensor } from '../native/tensor';

export type ActivationName = 'relu' | 'l0';

export interface SparseHeadArgs {
  /** [B,L,D] hidden states. */
  hidden: Tensor;
  /** [V,D] decoder weight. */
  weight: Tensor;
  /** [V] decoder bias. */
  bias: Tensor;
  /** [B,L] attention mask (nonzero = real token). */
  mask: Tensor;
  /** 'relu': log(1+relu(x)); 'l0': log1p applied k more times (docs/METHOD.md §1). Default 'l0'. */
  activation?: ActivationName;
  /** Extra log count of the l0 activation, 1..3 (default 1). */
  k?: number;
}

export interface SparseHeadResult {
  weights: Tensor;
  gradHidden?: Tensor;
  gradWeight?: Tensor;
  gradBias?: Tensor;
}

/** Composed-op reference sparse head; with gradOutput also returns dL/dH, dL/dW, dL/db. */
export function sparseHeadReference(args: SparseHeadArgs & { gradOutput?: Tensor }): Promise<SparseHeadResult> {
  return callAsync((native) => native.sparseHeadReference(args));
}

declare module '../native/loader' {
  interface NativeAddon {
    sparseHead(args: SparseHeadArgs & { gradOutput?: Tensor }): Promise<SparseHeadResult>;
  }
}

/**
 * The fused sparse head: w = f(max_i mask_i (h_i·W_v + b_v)) computed tile by tile (never [B,L,V]),
 * in the dtype of hidden (float32, float64, bfloat16). With gradOutput = dL/dw it also returns dL/dH,
 * dL/dW, dL/db, computed from the argmax rows only. Same values as sparseHeadReference.
 */
export function sparseHead(args: SparseHeadArgs & { gradOutput?: Tensor }): Promise<SparseHeadResult> {
  return callAsync((native) => native.sparseHead(args));
}
