// Ranking losses and schedules against values computed by hand with plain doubles.
#include "train/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace l0sparse::train;

namespace {

at::Tensor mat(std::vector<double> v, int64_t rows, int64_t cols) {
  return at::tensor(v, at::TensorOptions().dtype(at::kDouble)).view({rows, cols});
}

double softmax_at(const std::vector<double>& x, size_t i, double t) {
  double m = -INFINITY, z = 0;
  for (double v : x) m = std::max(m, v / t);
  for (double v : x) z += std::exp(v / t - m);
  return std::exp(x[i] / t - m) / z;
}

}  // namespace

TEST(TrainLosses, SparseQueryScoresEqualDenseDotProducts) {
  // Two queries over a 6-token vocabulary, three docs.
  at::Tensor indptr = at::tensor({0, 2, 3}, at::kInt);
  at::Tensor indices = at::tensor({1, 4, 4}, at::kInt);
  at::Tensor values = at::tensor({2.0f, 0.5f, 3.0f});
  at::Tensor docs = at::tensor({0.f, 1.f, 0.f, 0.f, 2.f, 0.f,   //
                                1.f, 0.f, 0.f, 0.f, 0.f, 7.f,   //
                                0.f, 3.f, 1.f, 0.f, 4.f, 0.f}).view({3, 6});
  at::Tensor s = sparse_query_scores(indptr, indices, values, docs);
  std::vector<float> expected = {2 * 1 + 0.5f * 2, 0, 2 * 3 + 0.5f * 4, 3 * 2, 0, 3 * 4};
  ASSERT_EQ(s.sizes(), (at::IntArrayRef{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(s.view(-1)[i].item<float>(), expected[i]);
  EXPECT_THROW(sparse_query_scores(indptr, at::tensor({1, 9, 4}, at::kInt), values, docs), c10::Error);
}

TEST(TrainLosses, KlDistillationMatchesHandComputation) {
  std::vector<double> s0 = {1.0, -0.5}, s1 = {0.2, 0.3}, t0 = {3.0, 1.0}, t1 = {-1.0, 2.0};
  for (double T : {1.0, 2.0}) {
    double expected = 0;
    for (auto [s, t] : {std::pair{s0, t0}, std::pair{s1, t1}})
      for (size_t i = 0; i < 2; ++i) {
        double pt = softmax_at(t, i, T), ps = softmax_at(s, i, T);
        expected += pt * (std::log(pt) - std::log(ps));
      }
    expected = expected / 2 * T * T;
    double got = kl_distillation_loss(mat({1.0, -0.5, 0.2, 0.3}, 2, 2), mat({3.0, 1.0, -1.0, 2.0}, 2, 2), T).item<double>();
    EXPECT_NEAR(got, expected, 1e-12) << "T=" << T;
  }
}

TEST(TrainLosses, MarginMseAndInfoNce) {
  // Margins: student (1 - 3) = -2, (1 - 0) = 1; teacher (2 - 1) = 1, (2 - 2) = 0.
  double mm = margin_mse_loss(mat({1, 3, 0}, 1, 3), mat({2, 1, 2}, 1, 3)).item<double>();
  EXPECT_NEAR(mm, ((-2 - 1) * (-2 - 1) + (1 - 0) * (1 - 0)) / 2.0, 1e-12);
  // Two queries, groups of 2 -> scores [2, 4]; targets are docs 0 and 2.
  at::Tensor sc = mat({2, 1, 0, 0, 1, 0, 3, -1}, 2, 4);
  auto ce = [](std::vector<double> row, size_t target) {
    double z = 0;
    for (double v : row) z += std::exp(v);
    return -std::log(std::exp(row[target]) / z);
  };
  double expected = (ce({2, 1, 0, 0}, 0) + ce({1, 0, 3, -1}, 2)) / 2;
  EXPECT_NEAR(info_nce_loss(sc, 2, 1.0).item<double>(), expected, 1e-12);
}

TEST(TrainSchedules, RegularizerWarmupIsQuadratic) {
  EXPECT_DOUBLE_EQ(regularizer_weight(0.04, 0, 10000), 0.04 * 1e-8);
  EXPECT_DOUBLE_EQ(regularizer_weight(0.04, 4999, 10000), 0.04 * 0.25);
  EXPECT_DOUBLE_EQ(regularizer_weight(0.04, 9999, 10000), 0.04);
  EXPECT_DOUBLE_EQ(regularizer_weight(0.04, 50000, 10000), 0.04);
  EXPECT_DOUBLE_EQ(linear_schedule_lr(2e-5, 0, 100, 1000), 0.0);
  EXPECT_DOUBLE_EQ(linear_schedule_lr(2e-5, 50, 100, 1000), 1e-5);
  EXPECT_DOUBLE_EQ(linear_schedule_lr(2e-5, 100, 100, 1000), 2e-5);
  EXPECT_DOUBLE_EQ(linear_schedule_lr(2e-5, 550, 100, 1000), 1e-5);
  EXPECT_DOUBLE_EQ(linear_schedule_lr(2e-5, 1000, 100, 1000), 0.0);
}
