#include "index/maxscore.h"

#include "index/posting_cursor.h"

#include <algorithm>
#include <numeric>

namespace l0sparse::index {
namespace {

// A bound that may be off by the rounding of a few double additions must still let through any document
// whose float score could beat the threshold; the relative margin is far above that error.
inline bool may_beat(double bound, double threshold) { return bound * (1.0 + 1e-9) > threshold; }

}  // namespace

void maxscore_search(const InvertedIndex& index, const std::vector<QueryTerm>& terms, TopKQueue& queue) {
  for (const QueryTerm& qt : terms) index.check_term(qt.term);
  std::vector<PostingCursor> cursors;
  cursors.reserve(terms.size());
  for (const QueryTerm& qt : terms)
    if (qt.weight > 0.0f && index.term_end(qt.term) > index.term_begin(qt.term)) cursors.emplace_back(index, qt.term, qt.weight);
  // Ascending upper bounds; stable so that equal bounds keep the query's column order (deterministic sums).
  std::stable_sort(cursors.begin(), cursors.end(),
                   [](const PostingCursor& a, const PostingCursor& b) { return a.max_score() < b.max_score(); });
  const size_t n = cursors.size();
  std::vector<double> bound_prefix(n + 1, 0.0);  // bound_prefix[i] = sum of max_score of cursors[0, i)
  for (size_t i = 0; i < n; ++i) bound_prefix[i + 1] = bound_prefix[i] + cursors[i].max_score();
  std::vector<double> block_bound(n, 0.0);

  size_t first_essential = 0;
  double threshold = queue.threshold();
  // Essential lists are read window by window into a small accumulator (term-at-a-time inside the window,
  // so each posting costs one add); the touched documents are then visited in increasing order, which
  // lets the non-essential cursors move forward only.
  constexpr uint32_t kWindow = 2048;
  constexpr uint32_t kWords = kWindow / 64;
  double window_scores[kWindow] = {};
  uint64_t touched[kWords] = {};
  for (uint32_t start = 0;;) {
    // Next window: where the nearest essential posting is (empty stretches are skipped at once).
    uint32_t first = kNoMoreDocs;
    for (size_t i = first_essential; i < n; ++i) first = std::min(first, cursors[i].doc());
    if (first == kNoMoreDocs) return;
    start = std::max(start, first);
    const uint64_t end64 = static_cast<uint64_t>(start) + kWindow;
    const uint32_t end = end64 > kNoMoreDocs ? kNoMoreDocs : static_cast<uint32_t>(end64);
    for (size_t i = first_essential; i < n; ++i) {
      PostingCursor& c = cursors[i];
      for (uint32_t doc = c.doc(); doc < end; c.next(), doc = c.doc()) {
        const uint32_t slot = doc - start;
        window_scores[slot] += c.score();
        touched[slot >> 6] |= uint64_t{1} << (slot & 63);
      }
    }
    // The lists the window was scored with stay the ones probed below, even if the threshold rises.
    const size_t window_essential = first_essential;
    for (uint32_t w = 0; w < kWords; ++w) {
      for (uint64_t bits = touched[w]; bits != 0; bits &= bits - 1) {
        const uint32_t slot = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
        const uint32_t doc = start + slot;
        double score = window_scores[slot];
        window_scores[slot] = 0.0;
        bool dropped = false;
        if (window_essential > 0) {
          dropped = !may_beat(score + bound_prefix[window_essential], threshold);
          double rest = 0.0;
          if (!dropped) {
            for (size_t i = 0; i < window_essential; ++i) rest += block_bound[i] = cursors[i].block_max_score(doc);
            dropped = !may_beat(score + rest, threshold);
          }
          for (size_t i = window_essential; !dropped && i-- > 0;) {
            rest -= block_bound[i];
            cursors[i].next_geq(doc);
            if (cursors[i].doc() == doc) score += cursors[i].score();
            dropped = !may_beat(score + rest, threshold);
          }
        }
        if (!dropped && queue.push(static_cast<float>(score), doc)) {
          threshold = queue.threshold();
          while (first_essential < n && !may_beat(bound_prefix[first_essential + 1], threshold)) ++first_essential;
          if (first_essential == n) return;  // even all lists together cannot beat the k-th score
        }
      }
      touched[w] = 0;
    }
    if (end == kNoMoreDocs) return;
    start = end;
  }
}

}  // namespace l0sparse::index
