// The reference sparse head against values computed by hand (loops over the formula of docs/METHOD.md §1).
#include "ops/activation.h"
#include "ops/sparse_head.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace l0sparse::ops;

namespace {

// Direct evaluation of w[b,v] = f(max_i m_i * (h_i . W_v + b_v)), independent of ATen ops.
double loop_value(const at::Tensor& H, const at::Tensor& W, const at::Tensor& bias, const at::Tensor& mask,
                  int64_t b, int64_t v, int extra_logs) {
  auto h = H.accessor<double, 3>();
  auto w = W.accessor<double, 2>();
  auto m = mask.accessor<double, 2>();
  double best = -INFINITY;
  for (int64_t i = 0; i < H.size(1); ++i) {
    double z = bias[v].item<double>();
    for (int64_t d = 0; d < H.size(2); ++d) z += h[b][i][d] * w[v][d];
    best = std::max(best, m[b][i] * z);
  }
  double y = best > 0 ? std::log1p(best) : 0.0;
  for (int k = 0; k < extra_logs; ++k) y = std::log1p(y);
  return y;
}

}  // namespace

TEST(SparseHeadReference, MatchesLoopsForEveryActivation) {
  at::manual_seed(0);
  auto opts = at::TensorOptions().dtype(at::kDouble);
  at::Tensor H = at::randn({3, 5, 4}, opts), W = at::randn({7, 4}, opts), bias = at::randn({7}, opts);
  at::Tensor mask = at::ones({3, 5}, opts);
  mask.index_put_({1, at::indexing::Slice(2)}, 0.0);  // padded tail
  mask.index_put_({2}, 0.0);                             // fully masked doc
  for (int k = 0; k <= 3; ++k) {
    at::Tensor out = sparse_head_reference(H, W, bias, mask, k);
    ASSERT_EQ(out.sizes(), (at::IntArrayRef{3, 7}));
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t v = 0; v < 7; ++v)
        EXPECT_NEAR(out[b][v].item<double>(), loop_value(H, W, bias, mask, b, v, k), 1e-12) << "k=" << k;
  }
  EXPECT_EQ(sparse_head_reference(H, W, bias, mask, 1)[2].abs().sum().item<double>(), 0.0);
}

TEST(SparseHeadReference, ActivationDerivativeMatchesFiniteDifference) {
  for (int k = 0; k <= 3; ++k)
    for (double x : {1e-3, 0.5, 2.0, 40.0}) {
      double h = 1e-6 * std::max(1.0, x);
      double fd = (activation_value(x + h, k) - activation_value(x - h, k)) / (2 * h);
      EXPECT_NEAR(activation_derivative(x, k), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "k=" << k << " x=" << x;
    }
  EXPECT_EQ(activation_derivative(-1.0, 1), 0.0);
  EXPECT_EQ(activation_value(-1.0, 2), 0.0);
}

TEST(SparseHeadReference, RejectsBadShapesWithClearErrors) {
  auto f = at::TensorOptions().dtype(at::kFloat);
  at::Tensor H = at::zeros({2, 3, 4}, f), W = at::zeros({5, 4}, f), b = at::zeros({5}, f), m = at::ones({2, 3}, f);
  EXPECT_THROW(sparse_head_reference(H, at::zeros({5, 3}, f), b, m, 0), c10::Error);
  EXPECT_THROW(sparse_head_reference(H, W, at::zeros({4}, f), m, 0), c10::Error);
  EXPECT_THROW(sparse_head_reference(H, W, b, at::ones({2, 2}, f), 0), c10::Error);
  EXPECT_THROW(sparse_head_reference(H, W, b, m, 4), c10::Error);
  EXPECT_THROW(sparse_head_reference(H.to(at::kDouble), W, b, m, 0), c10::Error);
  try {
    sparse_head_reference(H, W, at::zeros({4}, f), m, 0);
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("bias has 4 entries"), std::string::npos);
  }
}
