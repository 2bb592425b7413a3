#pragma once
// Scaled dot-product attention for training that keeps only q, k, v and a 1-byte dropout mask for backward
// and recomputes the attention probabilities there (the recomputation idea of FlashAttention, at the level
// of one batched GEMM). The composed ops (and SDPA's math path, which CPU training with dropout takes) keep
// the softmax output, the float dropout mask and the dropped probabilities: 3 x [B,H,L,L] floats per layer,
// about 150 MB per DistilBERT layer at 16 x 256 tokens. Recomputing costs one [L,L] GEMM per head, ~1% of a
// layer's FLOPs.
//
// Layout: q, k, v [B,H,L,Dh] (one dtype: float32, float64 or bfloat16); additive_mask broadcastable to
// [B,H,L,L] (0 for real keys, a large negative number for padding). Reduced-precision inputs get a float32
// softmax. Output [B,H,L,Dh] in q's dtype.
#include <ATen/ATen.h>

namespace l0sparse::ops {

// Draws the dropout mask (keep with probability 1 - dropout_p, default CPU generator) when dropout_p > 0.
at::Tensor recomputed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& additive_mask, double dropout_p);

// The same Function with a given mask (bool [B,H,L,L], or undefined for no dropout): what tests compare.
at::Tensor recomputed_attention_with_keep(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                          const at::Tensor& additive_mask, const at::Tensor& keep, double dropout_p);

// Reference: the same math in composed, autograd-tracked ATen ops (keeps every intermediate).
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& additive_mask, const at::Tensor& keep, double dropout_p);

}  // namespace l0sparse::ops
