// The recomputing training ops (ops/recomputed_attention.h, ops/recomputed_activation_linear.h) against
// the same math in composed ATen ops, whose gradients autograd derives independently.
#include "ops/recomputed_activation_linear.h"
#include "ops/recomputed_attention.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <string>
#include <vector>

using namespace l0sparse::ops;

namespace {

double max_rel(const at::Tensor& a, const at::Tensor& b) {
  return ((a.to(at::kDouble) - b.to(at::kDouble)).abs().max() / b.to(at::kDouble).abs().max().clamp_min(1e-30)).item<double>();
}

struct Qkv {
  at::Tensor q, k, v, mask, keep;
};

// [B,H,L,Dh] inputs; batch 1 has its last two keys padded; keep drops about p of the probabilities.
Qkv make_qkv(int64_t B, int64_t H, int64_t L, int64_t Dh, at::ScalarType dtype, double p, uint64_t seed) {
  at::manual_seed(seed);
  Qkv x;
  x.q = at::randn({B, H, L, Dh}, at::kDouble).to(dtype).requires_grad_();
  x.k = at::randn({B, H, L, Dh}, at::kDouble).to(dtype).requires_grad_();
  x.v = at::randn({B, H, L, Dh}, at::kDouble).to(dtype).requires_grad_();
  x.mask = at::zeros({B, 1, 1, L}, at::kFloat);
  if (B > 1) x.mask[1].narrow(-1, L - 2, 2).fill_(-3.4e38);
  if (p > 0) x.keep = at::rand({B, H, L, L}).ge(p);
  return x;
}

std::vector<at::Tensor> grads(const at::Tensor& out, const at::Tensor& upstream, const std::vector<at::Tensor>& inputs) {
  return torch::autograd::grad({out}, inputs, {upstream});
}

void expect_attention_matches(int64_t B, int64_t H, int64_t L, int64_t Dh, at::ScalarType dtype, double p, double tol) {
  Qkv x = make_qkv(B, H, L, Dh, dtype, p, 11);
  at::Tensor ours = recomputed_attention_with_keep(x.q, x.k, x.v, x.mask, x.keep, p);
  // Reduced precision: the reference runs in float64 on the same (rounded) inputs.
  const bool reduced = dtype == at::kBFloat16;
  auto wide = [&](const at::Tensor& t) { return reduced ? t.detach().to(at::kDouble).requires_grad_() : t; };
  at::Tensor rq = wide(x.q), rk = wide(x.k), rv = wide(x.v);
  at::Tensor ref = attention_reference(rq, rk, rv, x.mask.to(reduced ? at::kDouble : dtype), x.keep, p);
  EXPECT_EQ(ours.scalar_type(), dtype);
  EXPECT_LT(max_rel(ours, ref), tol) << "forward";
  at::Tensor upstream = at::randn(ours.sizes(), at::kDouble);
  auto g = grads(ours, upstream.to(dtype), {x.q, x.k, x.v});
  auto r = grads(ref, upstream.to(ref.scalar_type()), {rq, rk, rv});
  const char* names[] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; ++i) EXPECT_LT(max_rel(g[i], r[i]), tol) << names[i];
}

}  // namespace

TEST(RecomputedAttention, Float64WithDropoutAndPaddingMatchesComposedOps) {
  expect_attention_matches(2, 3, 7, 4, at::kDouble, 0.3, 1e-12);
}

TEST(RecomputedAttention, Float64WithoutDropoutMatchesComposedOps) {
  expect_attention_matches(2, 3, 7, 4, at::kDouble, 0.0, 1e-12);
}

TEST(RecomputedAttention, Float32AtAHeadSizeOf64MatchesComposedOps) {
  expect_attention_matches(2, 4, 48, 64, at::kFloat, 0.1, 1e-5);
}

TEST(RecomputedAttention, BFloat16InputsStayCloseToFloat64) {
  expect_attention_matches(2, 2, 16, 8, at::kBFloat16, 0.1, 3e-2);
}

TEST(RecomputedAttention, PaddedKeysGetNoWeightAndNoGradient) {
  Qkv x = make_qkv(2, 2, 6, 4, at::kDouble, 0.0, 5);
  at::Tensor out = recomputed_attention_with_keep(x.q, x.k, x.v, x.mask, at::Tensor(), 0.0);
  auto g = grads(out, at::ones_like(out), {x.k, x.v});
  // Batch 1's last two keys are padding: changing them changes nothing, so their gradients are 0.
  EXPECT_EQ(g[0][1].narrow(1, 4, 2).abs().max().item<double>(), 0.0);
  EXPECT_EQ(g[1][1].narrow(1, 4, 2).abs().max().item<double>(), 0.0);
}

TEST(RecomputedAttention, DrawsItsDropoutMaskFromTheSeededGenerator) {
  Qkv x = make_qkv(2, 2, 64, 4, at::kDouble, 0.0, 3);
  const double p = 0.25;
  at::manual_seed(42);
  at::Tensor a = recomputed_attention(x.q, x.k, x.v, x.mask, p);
  at::manual_seed(42);
  at::Tensor keep = at::empty({2, 2, 64, 64}, at::kDouble).bernoulli_(1.0 - p).to(at::kBool);
  at::Tensor ref = attention_reference(x.q, x.k, x.v, x.mask.to(at::kDouble), keep, p);
  EXPECT_LT(max_rel(a, ref), 1e-12);
  const double dropped = 1.0 - keep.to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, p, 0.02);
}

TEST(RecomputedAttention, RejectsBadInputs) {
  Qkv x = make_qkv(1, 2, 4, 4, at::kFloat, 0.0, 1);
  EXPECT_THROW(recomputed_attention(x.q, x.k.narrow(2, 0, 3), x.v, x.mask, 0.0), c10::Error);
  EXPECT_THROW(recomputed_attention(x.q, x.k.to(at::kDouble), x.v, x.mask, 0.0), c10::Error);
  EXPECT_THROW(recomputed_attention(x.q, x.k, x.v, x.mask, 1.0), c10::Error);
  EXPECT_THROW(recomputed_attention_with_keep(x.q, x.k, x.v, x.mask, at::ones({1, 2, 4, 4}), 0.1), c10::Error);
}

class RecomputedActivationLinearTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RecomputedActivationLinearTest, Float64MatchesComposedOps) {
  at::manual_seed(9);
  at::Tensor a = at::randn({3, 5, 16}, at::kDouble).requires_grad_();
  at::Tensor w = (at::randn({8, 16}, at::kDouble) * 0.3).requires_grad_();
  at::Tensor b = at::randn({8}, at::kDouble).requires_grad_();
  at::Tensor ours = recomputed_activation_linear(a, w, b, GetParam());
  at::Tensor ref = activation_linear_reference(a, w, b, GetParam());
  EXPECT_LT(max_rel(ours, ref), 1e-13);
  at::Tensor upstream = at::randn(ours.sizes(), at::kDouble);
  auto g = grads(ours, upstream, {a, w, b});
  auto r = grads(ref, upstream, {a, w, b});
  const char* names[] = {"da", "dW", "db"};
  for (int i = 0; i < 3; ++i) EXPECT_LT(max_rel(g[i], r[i]), 1e-12) << names[i];
}

INSTANTIATE_TEST_SUITE_P(Activations, RecomputedActivationLinearTest,
                         ::testing::Values("gelu", "gelu_tanh", "relu", "silu"));

TEST(RecomputedActivationLinear, Float32WithoutBiasMatchesComposedOps) {
  at::manual_seed(4);
  at::Tensor a = at::randn({64, 48}).requires_grad_();
  at::Tensor w = (at::randn({24, 48}) * 0.2).requires_grad_();
  at::Tensor ours = recomputed_activation_linear(a, w, at::Tensor(), "gelu");
  at::Tensor ref = activation_linear_reference(a, w, at::Tensor(), "gelu");
  EXPECT_LT(max_rel(ours, ref), 1e-6);
  at::Tensor upstream = at::randn(ours.sizes());
  auto g = grads(ours, upstream, {a, w});
  auto r = grads(ref, upstream, {a, w});
  EXPECT_LT(max_rel(g[0], r[0]), 1e-5);
  EXPECT_LT(max_rel(g[1], r[1]), 1e-5);
}

TEST(RecomputedActivationLinear, RejectsBadInputs) {
  at::Tensor a = at::randn({4, 6});
  EXPECT_THROW(recomputed_activation_linear(a, at::randn({3, 5}), at::Tensor(), "gelu"), c10::Error);
  EXPECT_THROW(recomputed_activation_linear(a, at::randn({3, 6}, at::kDouble), at::Tensor(), "gelu"), c10::Error);
  EXPECT_THROW(recomputed_activation_linear(a, at::randn({3, 6}), at::randn({4}), "gelu"), c10::Error);
  EXPECT_THROW(recomputed_activation_linear(a, at::randn({3, 6}), at::Tensor(), "tanh"), c10::Error);
}
