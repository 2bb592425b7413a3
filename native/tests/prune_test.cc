// Pruning definitions (OpenSearch's PruneUtils semantics) on hand-computed rows.
#include "index/prune.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace l0sparse::index;

namespace {

std::vector<int32_t> kept_cols(const std::vector<int32_t>& cols, const std::vector<float>& w, const std::string& type, double value) {
  std::vector<uint8_t> keep(cols.size());
  prune_row(cols.data(), w.data(), static_cast<int64_t>(cols.size()), make_prune_spec(type, value), keep.data());
  std::vector<int32_t> out;
  for (size_t i = 0; i < cols.size(); ++i)
    if (keep[i]) out.push_back(cols[i]);
  return out;
}

const std::vector<int32_t> kCols{3, 5, 8, 11, 20};
const std::vector<float> kW{0.5f, 2.0f, 1.0f, 2.0f, 0.25f};  // total 5.75, max 2

}  // namespace

TEST(Prune, TopKBreaksTiesBySmallerColumn) {
  EXPECT_EQ(kept_cols(kCols, kW, "top_k", 1), (std::vector<int32_t>{5}));  // 2.0 at 5 and 11: column 5 wins
  EXPECT_EQ(kept_cols(kCols, kW, "top_k", 2), (std::vector<int32_t>{5, 11}));
  EXPECT_EQ(kept_cols(kCols, kW, "top_k", 3), (std::vector<int32_t>{5, 8, 11}));
  EXPECT_EQ(kept_cols(kCols, kW, "top_k", 9), kCols);
}

TEST(Prune, MaxRatioKeepsWeightsAtLeastRatioTimesMax) {
  EXPECT_EQ(kept_cols(kCols, kW, "max_ratio", 0.5), (std::vector<int32_t>{5, 8, 11}));   // w >= 1.0
  EXPECT_EQ(kept_cols(kCols, kW, "max_ratio", 0.25), (std::vector<int32_t>{3, 5, 8, 11}));  // w >= 0.5
  EXPECT_EQ(kept_cols(kCols, kW, "max_ratio", 0), kCols);
}

TEST(Prune, AlphaMassKeepsTheLargestWhileTheRunningSumFits) {
  // Sorted: 2.0(5) 2.0(11) 1.0(8) 0.5(3) 0.25(20); running 2, 4, 5, 5.5, 5.75.
  EXPECT_EQ(kept_cols(kCols, kW, "alpha_mass", 0.7), (std::vector<int32_t>{5, 11}));        // budget 4.025
  EXPECT_EQ(kept_cols(kCols, kW, "alpha_mass", 0.4), (std::vector<int32_t>{5}));            // budget 2.3
  EXPECT_EQ(kept_cols(kCols, kW, "alpha_mass", 0.9), (std::vector<int32_t>{5, 8, 11}));     // budget 5.175
  EXPECT_EQ(kept_cols(kCols, kW, "alpha_mass", 0.1), (std::vector<int32_t>{}));             // budget 0.575 < 2
}

TEST(Prune, AbsValueKeepsWeightsAtLeastThreshold) {
  EXPECT_EQ(kept_cols(kCols, kW, "abs_value", 1.0), (std::vector<int32_t>{5, 8, 11}));
  EXPECT_EQ(kept_cols(kCols, kW, "abs_value", 0.3), (std::vector<int32_t>{3, 5, 8, 11}));
  EXPECT_EQ(kept_cols(kCols, kW, "abs_value", 5), (std::vector<int32_t>{}));
}

TEST(Prune, CsrKeepsRowStructure) {
  std::vector<int32_t> indptr{0, 5, 5, 7}, indices{3, 5, 8, 11, 20, 0, 1};
  std::vector<float> values{0.5f, 2.0f, 1.0f, 2.0f, 0.25f, 1.0f, 3.0f};
  const OwnedCsr out = prune_csr({indptr.data(), indices.data(), values.data(), 3, 21}, make_prune_spec("top_k", 2));
  EXPECT_EQ(out.indptr, (std::vector<int32_t>{0, 2, 2, 4}));
  EXPECT_EQ(out.indices, (std::vector<int32_t>{5, 11, 0, 1}));
  EXPECT_EQ(out.values, (std::vector<float>{2.0f, 2.0f, 1.0f, 3.0f}));
}

TEST(Prune, RejectsBadSpecsAndValues) {
  EXPECT_THROW(make_prune_spec("top_k", 0), std::invalid_argument);
  EXPECT_THROW(make_prune_spec("top_k", 2.5), std::invalid_argument);
  EXPECT_THROW(make_prune_spec("max_ratio", 1.0), std::invalid_argument);
  EXPECT_THROW(make_prune_spec("alpha_mass", -0.1), std::invalid_argument);
  EXPECT_THROW(make_prune_spec("abs_value", -1), std::invalid_argument);
  EXPECT_THROW(make_prune_spec("abs_value", NAN), std::invalid_argument);
  EXPECT_THROW(make_prune_spec("top_p", 1), std::invalid_argument);
  std::vector<int32_t> indptr{0, 2}, indices{1, 2};
  std::vector<float> zero{1.0f, 0.0f};
  EXPECT_THROW(prune_csr({indptr.data(), indices.data(), zero.data(), 1, 3}, make_prune_spec("top_k", 1)), std::invalid_argument);
}
