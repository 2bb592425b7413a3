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
  while (true) {
    while (first_essential < n && !may_beat(bound_prefix[first_essential + 1], threshold)) ++first_essential;
    if (first_essential == n) return;  // even all lists together cannot beat the k-th score

    uint32_t doc = kNoMoreDocs;
    for (size_t i = first_essential; i < n; ++i) doc = std::min(doc, cursors[i].doc());
    if (doc == kNoMoreDocs) return;

    double score = 0.0;
    for (size_t i = first_essential; i < n; ++i) {
      if (cursors[i].doc() == doc) {
        score += cursors[i].score();
        cursors[i].next();
      }
    }
    if (first_essential > 0) {
      if (!may_beat(score + bound_prefix[first_essential], threshold)) continue;
      double rest = 0.0;
      for (size_t i = 0; i < first_essential; ++i) rest += block_bound[i] = cursors[i].block_max_score(doc);
      if (!may_beat(score + rest, threshold)) continue;
      bool dropped = false;
      for (size_t i = first_essential; i-- > 0;) {
        rest -= block_bound[i];
        cursors[i].next_geq(doc);
        if (cursors[i].doc() == doc) score += cursors[i].score();
        if (!may_beat(score + rest, threshold)) {
          dropped = true;
          break;
        }
      }
      if (dropped) continue;
    }
    if (queue.push(static_cast<float>(score), doc)) threshold = queue.threshold();
  }
}

}  // namespace l0sparse::index
