import { callAsync } from '../native/loader';
import type { Tensor } from '../native/tensor';

export interface FlopsLossArgs {
  /** [N,V] document weights; row q*groupSize + s is document slot s of query group q. */
  weights: Tensor;
  /** Documents per query group (slots); N must be a multiple. Default 1 (no slots). */
  groupSize?: number;
  /** l0 mask: a document is regularised only if its nonzero count is > threshold. Default -1 (all). */
  threshold?: number;
  /** Also return dLoss/dweights (the mask is a constant: no gradient through it). */
  grad?: boolean;
}

export interface FlopsLossResult {
  /** sum_s sum_j ((1/Q) sum_q M(d)|w_dj|)^2, d = q*groupSize + s (docs/METHOD.md §3). */
  loss: number;
  /** Fraction of documents with nnz <= threshold, i.e. exempt from the regulariser. */
  maskedFraction: number;
  /** Mean nonzero count per document. */
  meanNnz: number;
  /** [N] int32, 1 where the document is regularised (M(d) = 1). */
  regularized: Tensor;
  /** [N] int32 nonzero counts. */
  nnz: Tensor;
  /** [N,V] gradient, when requested. */
  gradWeights?: Tensor;
}

declare module '../native/loader' {
  interface NativeAddon {
    flopsLoss(args: FlopsLossArgs): Promise<FlopsLossResult>;
  }
}

/** The l0-mask FLOPS loss on document weights, with per-slot means and its diagnostics. */
export function flopsLoss(args: FlopsLossArgs): Promise<FlopsLossResult> {
  return callAsync((native) => native.flopsLoss(args));
}
