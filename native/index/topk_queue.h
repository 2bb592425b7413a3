#pragma once
// The k best (score, doc) pairs seen so far. Order: higher score first, then smaller doc index, so
// results are deterministic whatever the traversal order.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace l0sparse::index {

struct ScoredDoc {
  float score;
  uint32_t doc;
};

// True when a ranks before b.
inline bool ranks_before(const ScoredDoc& a, const ScoredDoc& b) {
  return a.score > b.score || (a.score == b.score && a.doc < b.doc);
}

class TopKQueue {
 public:
  explicit TopKQueue(int64_t k) : k_(k) { heap_.reserve(static_cast<size_t>(std::min<int64_t>(k, 1024))); }

  // Offers a candidate; returns true if it entered the queue.
  bool push(float score, uint32_t doc) {
    if (k_ == 0) return false;
    const ScoredDoc cand{score, doc};
    if (static_cast<int64_t>(heap_.size()) < k_) {
      heap_.push_back(cand);
      std::push_heap(heap_.begin(), heap_.end(), ranks_before);  // front = worst entry
      return true;
    }
    if (!ranks_before(cand, heap_.front())) return false;
    std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
    heap_.back() = cand;
    std::push_heap(heap_.begin(), heap_.end(), ranks_before);
    return true;
  }

  // The score a newcomer must beat (strictly, since documents arrive in increasing order):
  // -infinity while the queue is not full.
  float threshold() const {
    return static_cast<int64_t>(heap_.size()) < k_ || k_ == 0 ? -std::numeric_limits<float>::infinity()
                                                              : heap_.front().score;
  }
  bool full() const { return static_cast<int64_t>(heap_.size()) >= k_; }

  // Best first. Leaves the queue empty.
  std::vector<ScoredDoc> take_sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
    return std::move(heap_);
  }

 private:
  int64_t k_;
  std::vector<ScoredDoc> heap_;
};

}  // namespace l0sparse::index
