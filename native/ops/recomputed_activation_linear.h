#pragma once
// linear(act(a), weight, bias) for the second half of a transformer FFN, keeping only `a` for backward:
// act(a) is recomputed there instead of being stored. Composed ops keep both a (for act's backward) and
// act(a) (for the linear's weight gradient): 2 x [B,L,4D] floats per layer, about 100 MB per DistilBERT
// layer at 16 x 256 tokens; this keeps half. Recomputing is one elementwise pass over a.
//
// a: [..., in]; weight [out, in] and bias [out] (or undefined) in a's dtype. activation: gelu, gelu_tanh,
// relu or silu (transformers' hidden_act names are mapped by the caller).
#include <ATen/ATen.h>

#include <string>

namespace l0sparse::ops {

at::Tensor recomputed_activation_linear(const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias,
                                        const std::string& activation);

// Reference: the composed, autograd-tracked ops.
at::Tensor activation_linear_reference(const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias,
                                       const std::string& activation);

}  // namespace l0sparse::ops
