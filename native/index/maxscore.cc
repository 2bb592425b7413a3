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
  auto min_essential_doc = [&]() {
    uint32_t doc = kNoMoreDocs;
    for (size_t i = first_essential; i < n; ++i) doc = std::min(doc, cursors[i].doc());
    return doc;
  };
  uint32_t doc = min_essential_doc();
  while (doc != kNoMoreDocs) {
    // Score the essential lists at `doc` and find the next candidate in the same pass.
    double score = 0.0;
    uint32_t next_doc = kNoMoreDocs;
    for (size_t i = first_essential; i < n; ++i) {
      PostingCursor& c = cursors[i];
      if (c.doc() == doc) {
        score += c.score();
        c.next();
      }
      next_doc = std::min(next_doc, c.doc());
    }
    bool dropped = false;
    if (first_essential > 0) {
      dropped = !may_beat(score + bound_prefix[first_essential], threshold);
      double rest = 0.0;
      if (!dropped) {
        for (size_t i = 0; i < first_essential; ++i) rest += block_bound[i] = cursors[i].block_max_score(doc);
        dropped = !may_beat(score + rest, threshold);
      }
      for (size_t i = first_essential; !dropped && i-- > 0;) {
        rest -= block_bound[i];
        cursors[i].next_geq(doc);
        if (cursors[i].doc() == doc) score += cursors[i].score();
        dropped = !may_beat(score + rest, threshold);
      }
    }
    if (!dropped && queue.push(static_cast<float>(score), doc)) {
      threshold = queue.threshold();
      const size_t before = first_essential;
      while (first_essential < n && !may_beat(bound_prefix[first_essential + 1], threshold)) ++first_essential;
      if (first_essential == n) return;  // even all lists together cannot beat the k-th score
      if (first_essential != before) next_doc = min_essential_doc();  // a list left the essential set
    }
    doc = next_doc;
  }
}

}  // namespace l0sparse::index
