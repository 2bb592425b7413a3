#include "index/exhaustive.h"

#include <new>

namespace l0sparse::index {

ScoreAccumulator::ScoreAccumulator(int64_t docs)
    : scores_(static_cast<double*>(std::calloc(static_cast<size_t>(std::max<int64_t>(docs, 1)), sizeof(double)))) {
  if (!scores_) throw std::bad_alloc();
}

void ScoreAccumulator::drain_into(TopKQueue& queue) {
  for (uint32_t doc : touched_) {
    queue.push(static_cast<float>(scores_[doc]), doc);  // the queue orders ties by doc, whatever the order here
    scores_[doc] = 0.0;
  }
  touched_.clear();
}

void exhaustive_search(const InvertedIndex& index, const std::vector<QueryTerm>& terms, ScoreAccumulator& acc,
                       TopKQueue& queue) {
  const uint32_t* docs = index.doc_ids();
  const float* weights = index.weights();
  for (const QueryTerm& qt : terms) {
    if (!(qt.weight > 0.0f)) continue;
    const double q = qt.weight;
    for (int64_t j = index.term_begin(qt.term), end = index.term_end(qt.term); j < end; ++j) acc.add(docs[j], q * weights[j]);
  }
  acc.drain_into(queue);
}

}  // namespace l0sparse::index
