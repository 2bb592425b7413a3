#pragma once
// Top-k of many queries on several threads, written into caller-owned outputs.
#include "index/csr_view.h"
#include "index/inverted_index.h"

#include <cstdint>

namespace l0sparse::index {

// Missing results (a query matching fewer than k documents) are padded with these.
inline constexpr int32_t kNoDoc = -1;

// queries: rows = queries, columns in [0, index.num_cols()), values >= 0 (zeros ignored).
// doc_indices / scores: rows * k entries each, row-major, best first (higher score, then smaller doc);
// padded entries hold kNoDoc and -infinity. threads <= 0 means hardware concurrency.
// The index must be built (no pending documents).
void search_batch(const InvertedIndex& index, const CsrView& queries, int64_t k, int threads, int32_t* doc_indices,
                  float* scores);

}  // namespace l0sparse::index
