// The fused sparse head (tiled CPU kernel + argmax-only backward + autograd Function) against the composed
// reference (sparse_head_reference through LibTorch autograd) and against central finite differences.
#include "ops/sparse_head.h"
#include "ops/sparse_head_kernels.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>

using namespace l0sparse::ops;

namespace {

struct Grads {
  at::Tensor out, dH, dW, db;
};

using HeadFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int);

Grads run_with_grads(HeadFn fn, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& m,
                     int k, const at::Tensor& grad_out) {
  at::Tensor h = H.detach().requires_grad_(true), w = W.detach().requires_grad_(true),
             bb = b.detach().requires_grad_(true);
  at::Tensor out = fn(h, w, bb, m, k);
  auto g = torch::autograd::grad({out}, {h, w, bb}, {grad_out.to(out.scalar_type())});
  return {out.detach(), g[0], g[1], g[2]};
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Zero the upstream gradient where the top two masked logits are closer than `gap`: there the argmax is
// decided by rounding, so two correct implementations may legitimately pick different tokens.
at::Tensor grad_away_from_near_ties(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b,
                                    const at::Tensor& m, at::Tensor grad_out, double gap) {
  at::Tensor z = (at::matmul(H.to(at::kDouble), W.to(at::kDouble).t()) + b.to(at::kDouble)) *
                 m.ne(0).to(at::kDouble).unsqueeze(-1);
  at::Tensor top2 = std::get<0>(z.topk(std::min<int64_t>(2, z.size(1)), 1));  // [B,k,V]
  if (top2.size(1) < 2) return grad_out;
  at::Tensor near = (top2.select(1, 0) - top2.select(1, 1)).abs() < gap;
  return grad_out.masked_fill(near, 0.0);
}

void expect_matches_reference(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& m,
                              int k, const at::Tensor& grad_out, double tol) {
  Grads fused = run_with_grads(sparse_head, H, W, b, m, k, grad_out);
  Grads ref = run_with_grads(sparse_head_reference, H, W, b, m, k, grad_out);
  EXPECT_EQ(fused.out.scalar_type(), H.scalar_type());
  EXPECT_LE(max_diff(fused.out, ref.out), tol) << "forward, k=" << k;
  EXPECT_LE(max_diff(fused.dH, ref.dH), tol) << "dH, k=" << k;
  EXPECT_LE(max_diff(fused.dW, ref.dW), tol) << "dW, k=" << k;
  EXPECT_LE(max_diff(fused.db, ref.db), tol) << "db, k=" << k;
}

at::TensorOptions f64() { return at::TensorOptions().dtype(at::kDouble); }

}  // namespace

TEST(SparseHeadFused, Float64MatchesReferenceForEveryActivation) {
  at::manual_seed(1);
  // V = 300 is not a multiple of the 256-wide vocab tile; doc 1 has a padded tail, doc 2 is fully masked.
  at::Tensor H = at::randn({3, 6, 8}, f64()), W = at::randn({300, 8}, f64()), b = at::randn({300}, f64());
  at::Tensor m = at::ones({3, 6}, f64());
  m.index_put_({1, at::indexing::Slice(4)}, 0.0);
  m.index_put_({2}, 0.0);
  at::Tensor g = at::randn({3, 300}, f64());
  for (int k = 0; k <= 3; ++k) expect_matches_reference(H, W, b, m, k, g, 1e-12);
  EXPECT_EQ(sparse_head(H, W, b, m, 1)[2].abs().sum().item<double>(), 0.0);
}

TEST(SparseHeadFused, GradientsMatchCentralFiniteDifferences) {
  at::manual_seed(2);
  at::Tensor H = at::randn({2, 3, 4}, f64()), W = at::randn({5, 4}, f64()), b = at::randn({5}, f64()) + 0.5;
  at::Tensor m = at::ones({2, 3}, f64());
  m.index_put_({1, 2}, 0.0);
  at::Tensor g = at::randn({2, 5}, f64());
  const int k = 1;
  Grads fused = run_with_grads(sparse_head, H, W, b, m, k, g);
  auto loss = [&](const at::Tensor& h, const at::Tensor& w, const at::Tensor& bb) {
    return (sparse_head(h, w, bb, m, k) * g).sum().item<double>();
  };
  const double eps = 1e-6;
  auto check = [&](const at::Tensor& x, const at::Tensor& analytic, int which) {
    for (int64_t i = 0; i < x.numel(); ++i) {
      at::Tensor xp = x.clone(), xm = x.clone();
      xp.view(-1)[i] += eps;
      xm.view(-1)[i] -= eps;
      double lp = which == 0 ? loss(xp, W, b) : which == 1 ? loss(H, xp, b) : loss(H, W, xp);
      double lm = which == 0 ? loss(xm, W, b) : which == 1 ? loss(H, xm, b) : loss(H, W, xm);
      EXPECT_NEAR(analytic.view(-1)[i].item<double>(), (lp - lm) / (2 * eps), 1e-6) << "input " << which << " #" << i;
    }
  };
  check(H, fused.dH, 0);
  check(W, fused.dW, 1);
  check(b, fused.db, 2);
}

TEST(SparseHeadFused, Float32AtDistilBertShapesMatchesReference) {
  at::manual_seed(3);
  const int64_t B = 2, L = 8, D = 768, V = 30522;
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  at::Tensor H = at::randn({B, L, D}, f32), W = at::randn({V, D}, f32) * 0.05, b = at::randn({V}, f32) * 0.1;
  at::Tensor m = at::ones({B, L}, f32);
  m.index_put_({1, at::indexing::Slice(6)}, 0.0);
  at::Tensor g = grad_away_from_near_ties(H, W, b, m, at::randn({B, V}, f32), 1e-3);
  Grads fused = run_with_grads(sparse_head, H, W, b, m, 1, g);
  Grads ref = run_with_grads(sparse_head_reference, H, W, b, m, 1, g);
  EXPECT_LE(max_diff(fused.out, ref.out), 1e-5);
  EXPECT_LE(max_diff(fused.db, ref.db), 1e-4);
  EXPECT_LE(max_diff(fused.dW, ref.dW), 1e-4);
  EXPECT_LE(max_diff(fused.dH, ref.dH), 1e-3 * (1 + ref.dH.abs().max().item<double>()));
}

TEST(SparseHeadFused, Bfloat16MatchesReferenceOnTheSameValues) {
  at::manual_seed(4);
  auto bf = at::TensorOptions().dtype(at::kBFloat16);
  at::Tensor H = at::randn({2, 5, 64}, bf), W = (at::randn({700, 64}) * 0.2).to(at::kBFloat16),
             b = (at::randn({700}) * 0.1).to(at::kBFloat16), m = at::ones({2, 5});
  at::Tensor g = grad_away_from_near_ties(H, W, b, m, at::randn({2, 700}), 5e-2);
  // Truth: the float64 reference on the very same (bf16-representable) values.
  Grads ref = run_with_grads(sparse_head_reference, H.to(at::kDouble), W.to(at::kDouble), b.to(at::kDouble), m, 1,
                             g.to(at::kDouble));
  Grads fused = run_with_grads(sparse_head, H, W, b, m, 1, g.to(at::kBFloat16));
  EXPECT_EQ(fused.out.scalar_type(), at::kBFloat16);
  EXPECT_EQ(fused.dW.scalar_type(), at::kBFloat16);
  // bf16 keeps 8 significant bits: relative tolerance ~ 2^-8 of the largest magnitude.
  auto rel = [](const at::Tensor& a, const at::Tensor& r) {
    return max_diff(a, r) / (1e-6 + r.abs().max().item<double>());
  };
  EXPECT_LE(rel(fused.out, ref.out), 1e-2);
  EXPECT_LE(rel(fused.dH, ref.dH), 2e-2);
  EXPECT_LE(rel(fused.dW, ref.dW), 2e-2);
  EXPECT_LE(rel(fused.db, ref.db), 2e-2);
}

TEST(SparseHeadFused, AllLogitsNonPositiveGiveZeroWeightsAndGradients) {
  at::Tensor H = at::randn({2, 4, 3}, f64()), W = at::randn({9, 3}, f64()) * 0.01,
             b = at::full({9}, -5.0, f64()), m = at::ones({2, 4}, f64());
  SparseHeadForward fwd = sparse_head_forward_cpu(H, W, b, m);
  EXPECT_TRUE(fwd.argmax.eq(-1).all().item<bool>());
  EXPECT_EQ(fwd.pooled.abs().sum().item<double>(), 0.0);
  expect_matches_reference(H, W, b, m, 0, at::randn({2, 9}, f64()), 1e-12);
  Grads fused = run_with_grads(sparse_head, H, W, b, m, 0, at::ones({2, 9}, f64()));
  EXPECT_EQ(fused.dH.abs().sum().item<double>() + fused.dW.abs().sum().item<double>(), 0.0);
}

TEST(SparseHeadFused, SingleTokenAndSingleDocument) {
  at::manual_seed(5);
  at::Tensor H = at::randn({1, 1, 6}, f64()), W = at::randn({40, 6}, f64()), b = at::randn({40}, f64());
  expect_matches_reference(H, W, b, at::ones({1, 1}, f64()), 1, at::randn({1, 40}, f64()), 1e-12);
  SparseHeadForward fwd = sparse_head_forward_cpu(H, W, b, at::ones({1, 1}, f64()));
  EXPECT_TRUE((fwd.argmax.eq(0) == fwd.pooled.gt(0)).all().item<bool>());
}

TEST(SparseHeadFused, TiesPickTheSmallestPositionDeterministically) {
  // Small integers: every dot product is exact, so tokens 1 and 3 (identical rows) tie exactly.
  // Other rows are in [-3, 2], so their sum (the logit of vocab id 2) stays below 12.
  at::Tensor H = at::randint(-3, 3, {1, 5, 4}, f64()), W = at::randint(-2, 3, {6, 4}, f64());
  H[0][1].fill_(3.0);
  H[0][3].fill_(3.0);
  W[2].fill_(1.0);  // vocab id 2: max 12 reached at tokens 1 and 3
  at::Tensor b = at::zeros({6}, f64()), m = at::ones({1, 5}, f64());
  for (int rep = 0; rep < 3; ++rep) {
    SparseHeadForward fwd = sparse_head_forward_cpu(H, W, b, m);
    EXPECT_EQ(fwd.argmax[0][2].item<int32_t>(), 1);
    EXPECT_DOUBLE_EQ(fwd.pooled[0][2].item<double>(), 12.0);
  }
  at::Tensor g = at::zeros({1, 6}, f64());
  g[0][2] = 1.0;
  Grads fused = run_with_grads(sparse_head, H, W, b, m, 0, g);
  EXPECT_GT(fused.dH[0][1].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(fused.dH[0][3].abs().sum().item<double>(), 0.0);  // the later tie gets nothing
}

TEST(SparseHeadFused, NonContiguousInputsGiveTheSameResult) {
  at::manual_seed(6);
  at::Tensor H = at::randn({4, 3, 5}, f64()).transpose(0, 1);  // [3,4,5] view
  at::Tensor W = at::randn({5, 270}, f64()).t();                // [270,5] view
  at::Tensor b = at::randn({540}, f64()).slice(0, 0, 540, 2);   // strided [270]
  at::Tensor m = at::ones({4, 3}, f64()).t();
  ASSERT_FALSE(H.is_contiguous());
  ASSERT_FALSE(W.is_contiguous());
  expect_matches_reference(H, W, b, m, 2, at::randn({3, 270}, f64()), 1e-12);
}

TEST(SparseHeadFused, FrozenWeightStillGivesHiddenGradient) {
  at::manual_seed(7);
  at::Tensor H = at::randn({2, 3, 4}, f64()).requires_grad_(true), W = at::randn({7, 4}, f64()),
             b = at::randn({7}, f64()), m = at::ones({2, 3}, f64());
  at::Tensor out = sparse_head(H, W, b, m, 1);
  out.sum().backward();
  ASSERT_TRUE(H.grad().defined());
  at::Tensor Hr = H.detach().clone().requires_grad_(true);
  sparse_head_reference(Hr, W, b, m, 1).sum().backward();
  EXPECT_LE(max_diff(H.grad(), Hr.grad()), 1e-12);
}

TEST(SparseHeadFused, RejectsBadInputWithClearErrors) {
  auto f = at::TensorOptions().dtype(at::kFloat);
  at::Tensor H = at::zeros({2, 3, 4}, f), W = at::zeros({5, 4}, f), b = at::zeros({5}, f), m = at::ones({2, 3}, f);
  auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const c10::Error& e) {
      return std::string(e.what_without_backtrace());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { sparse_head(H, at::zeros({5, 3}, f), b, m, 0); }).find("hidden size D = 4"), std::string::npos);
  EXPECT_NE(message([&] { sparse_head(H, W, b, at::ones({3, 2}, f), 0); }).find("mask is"), std::string::npos);
  EXPECT_NE(message([&] { sparse_head(H.to(at::kInt), W.to(at::kInt), b.to(at::kInt), m, 0); }).find("floating point"),
            std::string::npos);
  EXPECT_NE(message([&] { sparse_head(H, W.to(at::kDouble), b, m, 0); }).find("share a dtype"), std::string::npos);
  EXPECT_NE(message([&] { sparse_head(H, W, b, m, 9); }).find("extra log count"), std::string::npos);
  EXPECT_NE(message([&] { sparse_head_backward_cpu(at::zeros({2, 5}), at::full({2, 5}, 3, at::kInt), H, W, 1, 1, 1); })
                .find("argmax entries"),
            std::string::npos);
  EXPECT_NE(message([&] { sparse_head_backward_cpu(at::zeros({2, 4}), at::zeros({2, 4}, at::kInt), H, W, 1, 1, 1); })
                .find("must be [B,V]"),
            std::string::npos);
}
