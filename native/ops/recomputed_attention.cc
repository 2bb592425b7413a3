#include "ops/recomputed_attention.h"

#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

namespace l0sparse::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool reduced(const at::Tensor& t) { return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf; }

// softmax(q k^T / sqrt(Dh) + mask) in float32 for reduced inputs, else in the inputs' dtype.
at::Tensor attention_probs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& additive_mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  if (reduced(scores)) scores = scores.to(at::kFloat);
  scores.mul_(scale).add_(additive_mask.to(scores.scalar_type()));
  return at::_softmax(scores, -1, false);
}

// An autograd Function's tensor inputs must all be defined: no dropout travels as a 0-element mask.
at::Tensor apply_dropout(const at::Tensor& probs, const at::Tensor& keep, double p) {
  if (keep.numel() == 0) return probs;
  return probs * keep * (1.0 / (1.0 - p));
}

class RecomputedAttention : public torch::autograd::Function<RecomputedAttention> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& additive_mask, const at::Tensor& keep, double p) {
    at::Tensor dropped = apply_dropout(attention_probs(q, k, additive_mask), keep, p);
    at::Tensor out = at::matmul(dropped.to(v.scalar_type()), v);
    ctx->save_for_backward({q, k, v, additive_mask, keep});
    ctx->saved_data["p"] = p;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &mask = saved[3], &keep = saved[4];
    const double p = ctx->saved_data["p"].toDouble();
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    at::Tensor grad_out = grad_outputs[0].to(v.scalar_type());
    at::Tensor probs = attention_probs(q, k, mask);
    at::Tensor grad_v = at::matmul(apply_dropout(probs, keep, p).to(v.scalar_type()).transpose(-2, -1), grad_out);
    at::Tensor grad_dropped = at::matmul(grad_out, v.transpose(-2, -1)).to(probs.scalar_type());
    at::Tensor grad_scores = at::_softmax_backward_data(apply_dropout(grad_dropped, keep, p), probs, -1,
                                                        probs.scalar_type());
    grad_scores = grad_scores.mul_(scale).to(q.scalar_type());
    at::Tensor grad_q = at::matmul(grad_scores, k);
    at::Tensor grad_k = at::matmul(grad_scores.transpose(-2, -1), q);
    return {grad_q, grad_k, grad_v, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double p) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "attention: q, k, v must all be [B,H,L,Dh], got ", q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type(),
              "attention: q, k, v must share one dtype");
  TORCH_CHECK(p >= 0 && p < 1, "attention: dropout must be in [0, 1), got ", p);
}

}  // namespace

at::Tensor recomputed_attention_with_keep(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                          const at::Tensor& additive_mask, const at::Tensor& keep, double dropout_p) {
  check_inputs(q, k, v, dropout_p);
  TORCH_CHECK(!keep.defined() || (keep.scalar_type() == at::kBool && keep.dim() == 4 && keep.size(2) == q.size(2) &&
                                  keep.size(3) == q.size(2)),
              "attention: the dropout mask must be bool [B,H,L,L]");
  return RecomputedAttention::apply(q, k, v, additive_mask, keep.defined() ? keep : at::empty({0}, at::kBool), dropout_p);
}

at::Tensor recomputed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& additive_mask, double dropout_p) {
  check_inputs(q, k, v, dropout_p);
  at::Tensor keep = at::empty({0}, at::kBool);
  if (dropout_p > 0) {
    const int64_t L = q.size(2);
    keep = at::empty({q.size(0), q.size(1), L, L}, q.options().dtype(at::kFloat)).bernoulli_(1.0 - dropout_p).to(at::kBool);
  }
  return RecomputedAttention::apply(q, k, v, additive_mask, keep, dropout_p);
}

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& additive_mask, const at::Tensor& keep, double dropout_p) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale + additive_mask.to(q.scalar_type());
  at::Tensor probs = at::softmax(scores, -1);
  if (keep.defined()) probs = probs * keep.to(probs.scalar_type()) / (1.0 - dropout_p);
  return at::matmul(probs, v);
}

}  // namespace l0sparse::ops
