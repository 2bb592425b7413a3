#pragma once
// Top-k of many queries on several threads, written into caller-owned outputs.
#include "index/csr_view.h"
#include "index/inverted_index.h"

#include <cstdint>

namespace l0sparse::index {

// Missing results (a query matching fewer than k documents) are padded with these.
inline constexpr int32_t kNoDoc = -1;

enum class SearchAlgorithm {
  kAuto,        // the library's choice: currently MaxScore (see below)
  kMaxScore,    // block-max MaxScore over document windows (maxscore.h)
  kExhaustive,  // term-at-a-time accumulation over whole lists (exhaustive.h)
};

// Measured in thread CPU time on this project's machines: on SciFact BM25 vectors (5k docs, 9-term
// queries) MaxScore took 20 us/query against 26 for accumulation; on synthetic Zipf vectors with flat
// random weights, where bounds prune little, accumulation was twice as fast (74 vs 156 us at 200k docs).
// Real sparse vectors are skewed like the first case, so auto means MaxScore.

// queries: rows = queries, columns in [0, index.num_cols()), values >= 0 (zeros ignored).
// doc_indices / scores: rows * k entries each, row-major, best first (higher score, then smaller doc);
// padded entries hold kNoDoc and -infinity. threads <= 0 means hardware concurrency.
// The index must be built (no pending documents).
void search_batch(const InvertedIndex& index, const CsrView& queries, int64_t k, int threads, int32_t* doc_indices,
                  float* scores, SearchAlgorithm algorithm = SearchAlgorithm::kAuto);

}  // namespace l0sparse::index
