#pragma once
// The sparse head of docs/METHOD.md §1: w[b,v] = f( max_i mask[b,i] * (H[b,i,:] . W[v,:] + bias[v]) ).
//   hidden [B,L,D] (float32 / bfloat16; float16 on CUDA), weight [V,D], bias [V], mask [B,L] (any
//   numeric dtype, nonzero = real token), extra_logs: see ops/activation.h.
// Padding positions contribute 0 (mask multiplies, it does not set -inf), exactly as the formula.
#include <ATen/ATen.h>

namespace l0sparse::ops {

// Validates shapes/dtypes/devices of a sparse-head call; throws c10::Error with a clear message.
void check_sparse_head_inputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                              const at::Tensor& mask, int extra_logs);

// Reference: composed LibTorch ops (materialises [B,L,V] logits). Differentiable through autograd.
at::Tensor sparse_head_reference(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                                 const at::Tensor& mask, int extra_logs);

// The fused, differentiable sparse head (an autograd Function, sparse_head_autograd.cc): same value as
// sparse_head_reference, in the dtype of hidden, without ever materialising [B,L,V]. Gradients flow to
// hidden, weight and bias (none to mask) and touch only the argmax rows. Inputs may be non-contiguous.
// CPU kernels always; CUDA kernels when built with L0SPARSE_WITH_CUDA.
at::Tensor sparse_head(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& mask, int extra_logs);

}  // namespace l0sparse::ops
