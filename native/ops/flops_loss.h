#pragma once
// FLOPS regulariser with the l0 mask (docs/METHOD.md §3), on document weights only.
//   weights [N,V] = Q query groups of G documents each, row d = q*G + s (s = slot, the position of the
//   document in its query's group; G = 1 means no slots). M(d) = 1[nnz(w_d) > threshold], a constant
//   (no gradient through the mask); masked documents still count in the per-slot mean:
//     L = sum_s sum_j ( (1/Q) sum_q M(q*G+s) |w_{q*G+s, j}| )^2
//   A negative threshold keeps every document (the plain FLOPS loss of SPLADE, per slot).
#include <ATen/ATen.h>

namespace l0sparse::ops {

struct FlopsLoss {
  at::Tensor loss;         // 0-dim, dtype of weights, differentiable w.r.t. weights
  at::Tensor regularized;  // [N] bool: M(d)
  at::Tensor nnz;          // [N] int64: nonzero count of each document
  double masked_fraction;  // fraction of documents with M(d) = 0 (exempt from the regulariser)
  double mean_nnz;         // mean nonzero count per document
};

// Composed LibTorch ops: a handful of passes over [N,V], already memory-bound and cheap next to the
// encoder, so there is no separate kernel (see bench/results/P1-*.json, "flops_loss_ms").
FlopsLoss flops_loss(const at::Tensor& weights, int64_t group_size, double threshold);

}  // namespace l0sparse::ops
