#pragma once
// Forward-only cursor over one term's postings, with a second "shallow" position over its blocks that
// reads block maxima without touching postings (PISA's block_max_cursor, simplified).
#include "index/inverted_index.h"

#include <cstdint>
#include <limits>

namespace l0sparse::index {

inline constexpr uint32_t kNoMoreDocs = std::numeric_limits<uint32_t>::max();

class PostingCursor {
 public:
  PostingCursor(const InvertedIndex& index, int64_t term, float query_weight)
      : docs_(index.doc_ids()), weights_(index.weights()), block_max_(index.block_max()),
        block_last_(index.block_last_doc()), pos_(index.term_begin(term)), begin_(pos_), end_(index.term_end(term)),
        first_block_(index.block_begin(term)), block_(first_block_), shallow_block_(first_block_),
        end_block_(index.block_begin(term + 1)), query_weight_(query_weight),
        max_score_(static_cast<double>(query_weight) * index.term_max(term)) {}

  uint32_t doc() const { return pos_ < end_ ? docs_[pos_] : kNoMoreDocs; }
  float weight() const { return weights_[pos_]; }
  float query_weight() const { return query_weight_; }
  // q * w of the current posting, in double so that sums do not depend on float rounding order.
  double score() const { return static_cast<double>(query_weight_) * weights_[pos_]; }
  // Upper bound of score() over the whole list.
  double max_score() const { return max_score_; }

  void next() { ++pos_; }

  // Moves to the first posting with doc >= target (stays put if already there).
  void next_geq(uint32_t target) {
    if (doc() >= target) return;
    while (block_ < end_block_ && block_last_[block_] < target) ++block_;  // skip whole blocks
    if (block_ == end_block_) {
      pos_ = end_;
      return;
    }
    const int64_t block_start = begin_ + (block_ - first_block_) * kBlockSize;
    if (pos_ < block_start) pos_ = block_start;
    while (docs_[pos_] < target) ++pos_;  // the block's last doc is >= target, so this stops inside it
  }

  // Upper bound of score() for `target` without moving the postings position: q * (max of the block that
  // would hold target), or 0 when the list ends before target. Targets must not decrease.
  double block_max_score(uint32_t target) {
    while (shallow_block_ < end_block_ && block_last_[shallow_block_] < target) ++shallow_block_;
    return shallow_block_ == end_block_ ? 0.0 : static_cast<double>(query_weight_) * block_max_[shallow_block_];
  }

 private:
  const uint32_t* docs_;
  const float* weights_;
  const float* block_max_;
  const uint32_t* block_last_;
  int64_t pos_, begin_, end_;
  int64_t first_block_, block_, shallow_block_, end_block_;
  float query_weight_;
  double max_score_;
};

}  // namespace l0sparse::index
