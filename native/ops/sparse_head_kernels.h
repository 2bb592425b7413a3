#pragma once
// Kernel interface of the fused sparse head (projection + masked max-pool), shared by the CPU and CUDA
// implementations and dispatched by the autograd function in sparse_head_autograd.cc.
//
// Forward never materialises [B,L,V]:
//   pooled[b,v] = max(0, max_{i : mask[b,i] != 0} (hidden[b,i,:] . weight[v,:] + bias[v]))   (float32)
//   argmax[b,v] = the smallest i reaching that max when it is > 0, else -1                    (int32)
// (Equal to the formula's max_i m_i z_{i,v} after the activation, since f(x <= 0) = 0 with zero slope.)
// Backward touches only argmax rows, given grad_pooled = dL/dw * f'(pooled) (zero where argmax = -1):
//   grad_weight[v] = sum_b grad_pooled[b,v] * hidden[b, argmax[b,v]]
//   grad_bias[v]   = sum_b grad_pooled[b,v]
//   grad_hidden[b, argmax[b,v]] += grad_pooled[b,v] * weight[v]
// Accumulation is float32 for every input dtype; gradients come back in the input dtype.
#include <ATen/ATen.h>

namespace l0sparse::ops {

struct SparseHeadForward {
  at::Tensor pooled;  // [B,V] float32, >= 0
  at::Tensor argmax;  // [B,V] int32, -1 where pooled == 0
};

struct SparseHeadGrads {
  at::Tensor grad_hidden;  // [B,L,D] or undefined when not needed
  at::Tensor grad_weight;  // [V,D] or undefined
  at::Tensor grad_bias;    // [V] or undefined
};

SparseHeadForward sparse_head_forward_cpu(const at::Tensor& hidden, const at::Tensor& weight,
                                          const at::Tensor& bias, const at::Tensor& mask);
SparseHeadGrads sparse_head_backward_cpu(const at::Tensor& grad_pooled, const at::Tensor& argmax,
                                         const at::Tensor& hidden, const at::Tensor& weight,
                                         bool need_hidden, bool need_weight, bool need_bias);

#ifdef L0SPARSE_WITH_CUDA
SparseHeadForward sparse_head_forward_cuda(const at::Tensor& hidden, const at::Tensor& weight,
                                           const at::Tensor& bias, const at::Tensor& mask);
SparseHeadGrads sparse_head_backward_cuda(const at::Tensor& grad_pooled, const at::Tensor& argmax,
                                          const at::Tensor& hidden, const at::Tensor& weight,
                                          bool need_hidden, bool need_weight, bool need_bias);
#endif

}  // namespace l0sparse::ops
