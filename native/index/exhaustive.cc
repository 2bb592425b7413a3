#include "index/exhaustive.h"

#include <algorithm>
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
  for (const QueryTerm& qt : terms) index.check_term(qt.term);  // before the accumulator is touched
  const PostingsView& p = index.postings();
  uint32_t docs[kBlockSize], codes[kBlockSize];
  for (const QueryTerm& qt : terms) {
    if (!(qt.weight > 0.0f)) continue;
    const double q = qt.weight;
    const float scale = p.scale(qt.term);
    const int64_t n = index.term_end(qt.term) - index.term_begin(qt.term), first = index.block_begin(qt.term);
    for (int64_t start = 0, b = first; start < n; start += kBlockSize, ++b) {
      const int64_t len = std::min(kBlockSize, n - start);
      const uint8_t* block = p.data + p.block_offsets[b];
      const BlockHeader h = read_block_header(block);
      decode_block_docs(block, h, len, b == first ? -1 : static_cast<int64_t>(p.block_last_doc[b - 1]), docs);
      decode_block_codes(block, h, len, codes);
      for (int64_t i = 0; i < len; ++i) acc.add(docs[i], q * code_to_weight(codes[i], p.coding, scale));
    }
  }
  acc.drain_into(queue);
}

}  // namespace l0sparse::index
