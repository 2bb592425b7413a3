#pragma once
// Forward-only cursor over one term's compressed postings, with a second "shallow" position over its
// blocks that reads block maxima without decoding anything (PISA's block_max_cursor, simplified).
// A block's docs are decoded when the cursor enters it, its weights only when a score is asked for.
#include "index/inverted_index.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace l0sparse::index {

inline constexpr uint32_t kNoMoreDocs = std::numeric_limits<uint32_t>::max();

class PostingCursor {
 public:
  PostingCursor(const InvertedIndex& index, int64_t term, float query_weight)
      : p_(&index.postings()), scale_(index.postings().scale(term)), remaining_(index.term_end(term) - index.term_begin(term)),
        first_block_(index.block_begin(term)), block_(first_block_), shallow_block_(first_block_),
        end_block_(index.block_begin(term + 1)), query_weight_(query_weight),
        max_score_(static_cast<double>(query_weight) * index.term_max(term)) {
    enter(block_);
  }

  uint32_t doc() const { return doc_; }
  float query_weight() const { return query_weight_; }
  // q * w of the current posting, in double so that sums do not depend on float rounding order.
  double score() {
    if (!weights_ready_) decode_weights();
    return static_cast<double>(query_weight_) * weights_[pos_];
  }
  // Upper bound of score() over the whole list.
  double max_score() const { return max_score_; }

  void next() {
    if (++pos_ < len_) {
      doc_ = docs_[pos_];
    } else {
      enter(block_ + 1);
    }
  }

  // Moves to the first posting with doc >= target (stays put if already there).
  void next_geq(uint32_t target) {
    if (doc_ >= target) return;
    if (p_->block_last_doc[block_] < target) {
      int64_t b = block_ + 1;
      while (b < end_block_ && p_->block_last_doc[b] < target) ++b;  // skip whole blocks undecoded
      enter(b);
      if (doc_ >= target) return;
    }
    while (docs_[pos_] < target) ++pos_;  // the block's last doc is >= target, so this stops inside it
    doc_ = docs_[pos_];
  }

  // Upper bound of score() for `target` without moving the postings position: q * (max of the block that
  // would hold target), or 0 when the list ends before target. Targets must not decrease.
  double block_max_score(uint32_t target) {
    while (shallow_block_ < end_block_ && p_->block_last_doc[shallow_block_] < target) ++shallow_block_;
    return shallow_block_ == end_block_ ? 0.0 : static_cast<double>(query_weight_) * p_->block_max[shallow_block_];
  }

 private:
  void enter(int64_t b) {
    block_ = b;
    pos_ = 0;
    weights_ready_ = false;
    if (b >= end_block_) {
      len_ = 0;
      doc_ = kNoMoreDocs;
      return;
    }
    const int64_t offset = (b - first_block_) * kBlockSize;
    len_ = std::min(kBlockSize, remaining_ - offset);
    data_ = p_->data + p_->block_offsets[b];
    header_ = read_block_header(data_);
    decode_block_docs(data_, header_, len_, b == first_block_ ? -1 : static_cast<int64_t>(p_->block_last_doc[b - 1]), docs_);
    doc_ = docs_[0];
  }
  void decode_weights() {
    uint32_t codes[kBlockSize];
    decode_block_codes(data_, header_, len_, codes);
    for (int64_t i = 0; i < len_; ++i) weights_[i] = code_to_weight(codes[i], p_->coding, scale_);
    weights_ready_ = true;
  }

  const PostingsView* p_;
  float scale_;
  int64_t remaining_;  // postings of the term
  int64_t first_block_, block_, shallow_block_, end_block_;
  const uint8_t* data_ = nullptr;
  BlockHeader header_{};
  int64_t len_ = 0, pos_ = 0;
  uint32_t doc_ = kNoMoreDocs;
  bool weights_ready_ = false;
  float query_weight_;
  double max_score_;
  uint32_t docs_[kBlockSize];
  float weights_[kBlockSize];
};

}  // namespace l0sparse::index
