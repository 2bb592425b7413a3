#pragma once
// Top-k of many queries on several threads, written into caller-owned outputs.
#include "index/csr_view.h"
#include "index/inverted_index.h"

#include <cstdint>

namespace l0sparse::index {

// Missing results (a query matching fewer than k documents) are padded with these.
inline constexpr int32_t kNoDoc = -1;

enum class SearchAlgorithm {
  kAuto,        // term-at-a-time on collections up to kExhaustiveMaxDocs or for short lists, MaxScore otherwise
  kMaxScore,    // document-at-a-time block-max MaxScore (maxscore.h)
  kExhaustive,  // term-at-a-time accumulation (exhaustive.h)
};

// The automatic choice. Measured on this project's machines (README, "Index and search"): term-at-a-time
// reads a posting in about a nanosecond, and on SciFact BM25 vectors and on synthetic Zipf-distributed
// vectors of up to 200k documents it beat MaxScore several times over, because MaxScore's skipping did
// not save enough postings to pay for its per-candidate work. Beyond 2^20 documents the accumulator
// (8 bytes per document and thread) stops fitting in cache, so MaxScore is used unless the query's lists
// are short.
inline constexpr int64_t kExhaustiveMaxPostings = int64_t{1} << 16;
inline constexpr int64_t kExhaustiveMaxDocs = int64_t{1} << 20;

// queries: rows = queries, columns in [0, index.num_cols()), values >= 0 (zeros ignored).
// doc_indices / scores: rows * k entries each, row-major, best first (higher score, then smaller doc);
// padded entries hold kNoDoc and -infinity. threads <= 0 means hardware concurrency.
// The index must be built (no pending documents).
void search_batch(const InvertedIndex& index, const CsrView& queries, int64_t k, int threads, int32_t* doc_indices,
                  float* scores, SearchAlgorithm algorithm = SearchAlgorithm::kAuto);

}  // namespace l0sparse::index
