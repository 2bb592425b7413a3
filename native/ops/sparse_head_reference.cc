#include "ops/activation.h"
#include "ops/sparse_head.h"

#include <c10/util/Exception.h>

namespace l0sparse::ops {

void check_sparse_head_inputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                              const at::Tensor& mask, int extra_logs) {
  check_extra_logs(extra_logs);
  TORCH_CHECK(hidden.dim() == 3, "sparse_head: hidden must be [B,L,D], got ", hidden.sizes());
  TORCH_CHECK(weight.dim() == 2, "sparse_head: weight must be [V,D], got ", weight.sizes());
  TORCH_CHECK(bias.dim() == 1, "sparse_head: bias must be [V], got ", bias.sizes());
  TORCH_CHECK(mask.dim() == 2, "sparse_head: mask must be [B,L], got ", mask.sizes());
  TORCH_CHECK(weight.size(1) == hidden.size(2), "sparse_head: weight is [", weight.size(0), ",",
              weight.size(1), "] but hidden size D = ", hidden.size(2));
  TORCH_CHECK(bias.size(0) == weight.size(0), "sparse_head: bias has ", bias.size(0),
              " entries, weight has V = ", weight.size(0), " rows");
  TORCH_CHECK(mask.size(0) == hidden.size(0) && mask.size(1) == hidden.size(1), "sparse_head: mask is ",
              mask.sizes(), " but hidden is ", hidden.sizes());
  TORCH_CHECK(hidden.size(0) > 0 && hidden.size(1) > 0 && hidden.size(2) > 0 && weight.size(0) > 0,
              "sparse_head: empty dimension in hidden ", hidden.sizes(), " or weight ", weight.sizes());
  TORCH_CHECK(at::isFloatingType(hidden.scalar_type()), "sparse_head: hidden must be floating point, got ",
              hidden.scalar_type());
  TORCH_CHECK(weight.scalar_type() == hidden.scalar_type() && bias.scalar_type() == hidden.scalar_type(),
              "sparse_head: hidden, weight and bias must share a dtype, got ", hidden.scalar_type(), ", ",
              weight.scalar_type(), ", ", bias.scalar_type());
  TORCH_CHECK(!mask.is_complex(), "sparse_head: mask must be real-valued");
  TORCH_CHECK(hidden.device() == weight.device() && hidden.device() == bias.device() &&
                  hidden.device() == mask.device(),
              "sparse_head: all inputs must be on one device");
}

at::Tensor sparse_head_reference(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                                 const at::Tensor& mask, int extra_logs) {
  check_sparse_head_inputs(hidden, weight, bias, mask, extra_logs);
  at::Tensor logits = at::matmul(hidden, weight.t()) + bias;             // [B,L,V]
  logits = logits * mask.to(logits.scalar_type()).ne(0).to(logits.scalar_type()).unsqueeze(-1);
  at::Tensor pooled = std::get<0>(logits.max(1));                       // [B,V]
  return activation_reference(pooled, extra_logs);
}

}  // namespace l0sparse::ops
