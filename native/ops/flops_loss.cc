#include "ops/flops_loss.h"

#include <c10/util/Exception.h>

namespace l0sparse::ops {

FlopsLoss flops_loss(const at::Tensor& weights, int64_t group_size, double threshold) {
  TORCH_CHECK(weights.dim() == 2, "flops_loss: weights must be [N,V], got ", weights.sizes());
  TORCH_CHECK(at::isFloatingType(weights.scalar_type()), "flops_loss: weights must be floating point, got ",
              weights.scalar_type());
  TORCH_CHECK(group_size >= 1, "flops_loss: group size must be >= 1, got ", group_size);
  const int64_t N = weights.size(0), V = weights.size(1);
  TORCH_CHECK(N > 0 && V > 0, "flops_loss: empty weights ", weights.sizes());
  TORCH_CHECK(N % group_size == 0, "flops_loss: ", N, " documents do not form groups of ", group_size,
              " (N must be a multiple of the group size)");
  const int64_t Q = N / group_size;

  FlopsLoss out;
  at::Tensor detached = weights.detach();
  out.nnz = detached.ne(0).sum(1);
  out.regularized = out.nnz.gt(threshold);
  at::Tensor keep = out.regularized.to(weights.scalar_type()).unsqueeze(1);  // constant: no gradient
  at::Tensor slot_mean = (weights.abs() * keep).view({Q, group_size, V}).sum(0) / static_cast<double>(Q);
  out.loss = slot_mean.pow(2).sum();
  out.masked_fraction = 1.0 - out.regularized.to(at::kDouble).mean().item<double>();
  out.mean_nnz = out.nnz.to(at::kDouble).mean().item<double>();
  return out;
}

}  // namespace l0sparse::ops
