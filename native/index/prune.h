#pragma once
// Per-row pruning of sparse vectors with OpenSearch's four ingest definitions (docs/METHOD.md §6), in float
// arithmetic as OpenSearch's PruneUtils does it, so a pruned vector equals what OpenSearch would keep:
//   top_k      keep the k largest weights (equal weights: the smaller column wins)
//   max_ratio  keep w >= ratio * max(w)                     ratio in [0, 1)
//   alpha_mass sort by weight (descending, equal weights by column), keep while the running sum of the
//              kept ones (this one included) <= alpha * total                 alpha in [0, 1)
//   abs_value  keep w >= threshold                         threshold >= 0
// Weights must be finite and > 0 (OpenSearch rejects anything else). Kept entries stay in column order.
#include "index/csr_view.h"

#include <cstdint>
#include <string>
#include <vector>

namespace l0sparse::index {

enum class PruneType { kTopK, kMaxRatio, kAlphaMass, kAbsValue };

struct PruneSpec {
  PruneType type;
  double value;  // k, ratio, alpha or threshold
};

// "top_k" | "max_ratio" | "alpha_mass" | "abs_value"; checks the value's range (throws std::invalid_argument).
PruneSpec make_prune_spec(const std::string& type, double value);

struct OwnedCsr {
  std::vector<int32_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> values;
  int64_t num_cols = 0;
};

OwnedCsr prune_csr(const CsrView& csr, const PruneSpec& spec);

// Marks the entries of one row to keep (keep.size() == count). Exposed for tests.
void prune_row(const int32_t* cols, const float* weights, int64_t count, const PruneSpec& spec, uint8_t* keep);

}  // namespace l0sparse::index
