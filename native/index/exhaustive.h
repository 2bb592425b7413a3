#pragma once
// Exact top-k of one query by term-at-a-time accumulation: every posting of every query term adds q·w to
// its document's accumulator, then the touched documents go through the top-k queue. It reads each
// posting once, with no per-candidate bookkeeping: faster than MaxScore when bounds prune little (flat
// weights), slower on skewed real vectors (measurements in batch_search.h).
#include "index/inverted_index.h"
#include "index/maxscore.h"
#include "index/topk_queue.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace l0sparse::index {

// One accumulator per document, zero between queries. calloc'd, so pages a query never touches are never
// faulted in, and only touched entries are reset.
class ScoreAccumulator {
 public:
  explicit ScoreAccumulator(int64_t docs);
  void add(uint32_t doc, double contribution) {
    if (scores_[doc] == 0.0) touched_.push_back(doc);  // contributions are > 0, so 0 means untouched
    scores_[doc] += contribution;
  }
  // Moves every touched document into the queue and resets the accumulator.
  void drain_into(TopKQueue& queue);

 private:
  struct Free {
    void operator()(double* p) const { std::free(p); }
  };
  std::unique_ptr<double[], Free> scores_;
  std::vector<uint32_t> touched_;
};

void exhaustive_search(const InvertedIndex& index, const std::vector<QueryTerm>& terms, ScoreAccumulator& acc,
                       TopKQueue& queue);

}  // namespace l0sparse::index
