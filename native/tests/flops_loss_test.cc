// The l0-mask FLOPS loss against the formula of docs/METHOD.md §3 evaluated with plain loops.
#include "ops/flops_loss.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <vector>

using namespace l0sparse::ops;

namespace {

struct LoopTruth {
  double loss = 0, masked_fraction = 0, mean_nnz = 0;
  std::vector<double> grad;  // dL/dw for kept documents; 0 for masked ones (the mask is a constant)
};

LoopTruth loops(const at::Tensor& w, int64_t G, double t) {
  auto a = w.accessor<double, 2>();
  const int64_t N = w.size(0), V = w.size(1), Q = N / G;
  LoopTruth r;
  r.grad.assign(N * V, 0.0);
  std::vector<double> keep(N);
  for (int64_t d = 0; d < N; ++d) {
    int64_t nnz = 0;
    for (int64_t j = 0; j < V; ++j) nnz += a[d][j] != 0.0;
    keep[d] = nnz > t ? 1.0 : 0.0;
    r.masked_fraction += (1.0 - keep[d]) / N;
    r.mean_nnz += static_cast<double>(nnz) / N;
  }
  for (int64_t s = 0; s < G; ++s)
    for (int64_t j = 0; j < V; ++j) {
      double mean = 0;
      for (int64_t q = 0; q < Q; ++q) mean += keep[q * G + s] * std::abs(a[q * G + s][j]) / Q;
      r.loss += mean * mean;
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t d = q * G + s;
        const double sign = a[d][j] > 0 ? 1.0 : a[d][j] < 0 ? -1.0 : 0.0;
        r.grad[d * V + j] = keep[d] * 2.0 * mean * sign / Q;
      }
    }
  return r;
}

// Sparse rows with chosen nonzero counts; negative entries too (|w| must be used).
at::Tensor weights_with_nnz(const std::vector<int64_t>& nnz, int64_t V) {
  at::Tensor w = at::zeros({static_cast<int64_t>(nnz.size()), V}, at::kDouble);
  for (size_t d = 0; d < nnz.size(); ++d)
    for (int64_t j = 0; j < nnz[d]; ++j) w[d][(j * 7 + d) % V] = 0.25 + 0.1 * j - (j % 3 == 2 ? 1.0 : 0.0);
  return w;
}

}  // namespace

at::Tensor grad_of(const FlopsLoss& out, const at::Tensor& w) {
  return torch::autograd::grad({out.loss}, {w}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                               /*allow_unused=*/true)[0];
}

void expect_grad_equals(const at::Tensor& grad, const std::vector<double>& truth, const char* what) {
  at::Tensor flat = grad.contiguous().view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) EXPECT_NEAR(flat[i].item<double>(), truth[i], 1e-12) << what << " #" << i;
}

TEST(FlopsLoss, MatchesLoopsWithSlotsAndThreshold) {
  const int64_t V = 23, G = 2;
  at::Tensor w = weights_with_nnz({5, 9, 2, 12, 7, 3}, V).requires_grad_(true);  // Q = 3 groups of 2
  for (double t : {-1.0, 0.0, 4.0, 8.0, 100.0}) {
    FlopsLoss out = flops_loss(w, G, t);
    LoopTruth truth = loops(w.detach(), G, t);
    EXPECT_NEAR(out.loss.item<double>(), truth.loss, 1e-12) << "t=" << t;
    EXPECT_NEAR(out.masked_fraction, truth.masked_fraction, 1e-12) << "t=" << t;
    EXPECT_NEAR(out.mean_nnz, truth.mean_nnz, 1e-12);
    expect_grad_equals(grad_of(out, w), truth.grad, "grad");
  }
}

TEST(FlopsLoss, MaskedDocumentsCountInTheMeanButGetNoGradient) {
  const int64_t V = 11;
  at::Tensor w = weights_with_nnz({6, 2, 6, 1}, V).requires_grad_(true);  // G = 1: four docs, one slot
  FlopsLoss out = flops_loss(w, 1, 3.0);                                  // docs 1 and 3 are exempt
  EXPECT_EQ(out.regularized.to(at::kInt).sum().item<int>(), 2);
  EXPECT_DOUBLE_EQ(out.masked_fraction, 0.5);
  // Only docs 0 and 2 enter the sum, but the mean still divides by all 4 documents.
  at::Tensor kept = w.detach().index_select(0, at::tensor({0, 2}, at::kLong)).abs().sum(0) / 4.0;
  EXPECT_NEAR(out.loss.item<double>(), kept.pow(2).sum().item<double>(), 1e-12);
  at::Tensor g = grad_of(out, w);
  EXPECT_EQ(g[1].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(g[3].abs().sum().item<double>(), 0.0);
  EXPECT_GT(g[0].abs().sum().item<double>(), 0.0);
}

TEST(FlopsLoss, SlotsAreAveragedSeparately) {
  // Two groups of two: slot means differ from the all-document mean, so the loss tells them apart.
  at::Tensor w = at::tensor({1.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 4.0}, at::kDouble).view({4, 2});
  // slot 0 = docs 0, 2: mean (2, 0); slot 1 = docs 1, 3: mean (0, 3) -> 4 + 9.
  EXPECT_NEAR(flops_loss(w, 2, -1).loss.item<double>(), 13.0, 1e-12);
  // one slot: mean (1, 1.5) -> 1 + 2.25.
  EXPECT_NEAR(flops_loss(w, 1, -1).loss.item<double>(), 3.25, 1e-12);
}

TEST(FlopsLoss, Float32AgreesWithFloat64) {
  at::manual_seed(3);
  at::Tensor w = at::relu(at::randn({8, 1000}, at::kDouble));
  FlopsLoss a = flops_loss(w, 2, 400), b = flops_loss(w.to(at::kFloat), 2, 400);
  EXPECT_NEAR(a.loss.item<double>(), b.loss.item<double>(), 1e-5 * a.loss.item<double>());
  EXPECT_EQ(a.masked_fraction, b.masked_fraction);
}

TEST(FlopsLoss, RejectsBadInputWithClearErrors) {
  at::Tensor w = at::ones({6, 4});
  EXPECT_THROW(flops_loss(w, 4, 0), c10::Error);  // 6 docs are not groups of 4
  EXPECT_THROW(flops_loss(w, 0, 0), c10::Error);
  EXPECT_THROW(flops_loss(at::ones({6}), 1, 0), c10::Error);
  EXPECT_THROW(flops_loss(at::ones({6, 4}, at::kInt), 1, 0), c10::Error);
  try {
    flops_loss(w, 4, 0);
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("multiple of the group size"), std::string::npos);
  }
}
