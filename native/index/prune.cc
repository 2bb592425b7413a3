#include "index/prune.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace l0sparse::index {
namespace {

// Positions of a row ordered by weight descending, equal weights by column ascending.
std::vector<int64_t> by_weight_desc(const int32_t* cols, const float* weights, int64_t count) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return weights[a] > weights[b] || (weights[a] == weights[b] && cols[a] < cols[b]);
  });
  return order;
}

}  // namespace

PruneSpec make_prune_spec(const std::string& type, double value) {
  auto bad = [&](const std::string& rule) {
    return std::invalid_argument("prune " + type + ": value " + std::to_string(value) + " " + rule);
  };
  if (!std::isfinite(value)) throw bad("must be finite");
  if (type == "top_k") {
    if (!(value >= 1 && value == std::floor(value) && value <= INT32_MAX)) throw bad("must be a positive integer");
    return {PruneType::kTopK, value};
  }
  if (type == "max_ratio" || type == "alpha_mass") {
    if (!(value >= 0 && value < 1)) throw bad("must be in [0, 1)");
    return {type == "max_ratio" ? PruneType::kMaxRatio : PruneType::kAlphaMass, value};
  }
  if (type == "abs_value") {
    if (!(value >= 0)) throw bad("must be >= 0");
    return {PruneType::kAbsValue, value};
  }
  throw std::invalid_argument("unknown prune type '" + type + "' (expected top_k, max_ratio, alpha_mass or abs_value)");
}

void prune_row(const int32_t* cols, const float* weights, int64_t count, const PruneSpec& spec, uint8_t* keep) {
  std::fill(keep, keep + count, uint8_t{0});
  if (count == 0) return;
  switch (spec.type) {
    case PruneType::kTopK: {
      const auto k = static_cast<int64_t>(spec.value);
      if (count <= k) {
        std::fill(keep, keep + count, uint8_t{1});
        return;
      }
      const auto order = by_weight_desc(cols, weights, count);
      for (int64_t i = 0; i < k; ++i) keep[order[i]] = 1;
      return;
    }
    case PruneType::kMaxRatio: {
      const float max_w = *std::max_element(weights, weights + count);
      const float cut = static_cast<float>(spec.value) * max_w;
      for (int64_t i = 0; i < count; ++i) keep[i] = weights[i] >= cut;
      return;
    }
    case PruneType::kAbsValue: {
      const auto cut = static_cast<float>(spec.value);
      for (int64_t i = 0; i < count; ++i) keep[i] = weights[i] >= cut;
      return;
    }
    case PruneType::kAlphaMass: {
      double total = 0.0;  // OpenSearch sums in double, then rounds the total to float
      for (int64_t i = 0; i < count; ++i) total += weights[i];
      const float budget = static_cast<float>(spec.value) * static_cast<float>(total);
      float running = 0.0f;
      for (int64_t pos : by_weight_desc(cols, weights, count)) {
        running += weights[pos];
        if (!(running <= budget)) break;  // weights are positive: the running sum only grows
        keep[pos] = 1;
      }
      return;
    }
  }
}

OwnedCsr prune_csr(const CsrView& csr, const PruneSpec& spec) {
  validate_csr(csr, csr.nnz(), ValueRule::kPositive, "prune");
  std::vector<uint8_t> keep(static_cast<size_t>(csr.nnz()));
  at::parallel_for(0, csr.rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t start = csr.indptr[r];
      prune_row(csr.indices + start, csr.values + start, csr.indptr[r + 1] - start, spec, keep.data() + start);
    }
  });
  OwnedCsr out;
  out.num_cols = csr.num_cols;
  const auto kept = std::count(keep.begin(), keep.end(), uint8_t{1});
  out.indices.reserve(static_cast<size_t>(kept));
  out.values.reserve(static_cast<size_t>(kept));
  out.indptr.reserve(static_cast<size_t>(csr.rows) + 1);
  for (int64_t r = 0; r < csr.rows; ++r) {
    for (int64_t j = csr.indptr[r]; j < csr.indptr[r + 1]; ++j) {
      if (!keep[j]) continue;
      out.indices.push_back(csr.indices[j]);
      out.values.push_back(csr.values[j]);
    }
    out.indptr.push_back(static_cast<int32_t>(out.indices.size()));
  }
  return out;
}

}  // namespace l0sparse::index
