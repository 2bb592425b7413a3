#pragma once
// Exact top-k of one query by MaxScore with block-max bounds.
//
// Terms are ordered by their list upper bound q·max(w). The shortest prefix whose bounds sum to no more
// than the current k-th score is "non-essential": a document found only there cannot enter the top k,
// so candidates come from the essential lists alone. The essential lists are read window by window
// (2048 documents) into a small accumulator, one add per posting; the window's candidates are then
// taken in document order: the non-essential lists are first bounded by the max of the block that would
// hold the candidate (no postings read), then probed one by one, dropping the candidate as soon as its
// score plus the remaining bounds cannot beat the k-th score.
//
// Scores are sums of q·w products accumulated in double and rounded to float once, so they match a
// brute-force dot product whatever order the terms are visited in (up to the last double bit).
#include "index/inverted_index.h"
#include "index/topk_queue.h"

#include <cstdint>
#include <vector>

namespace l0sparse::index {

struct QueryTerm {
  int32_t term;
  float weight;  // > 0
};

// Fills `queue` with the best documents for the query (documents sharing no term are never candidates).
void maxscore_search(const InvertedIndex& index, const std::vector<QueryTerm>& terms, TopKQueue& queue);

}  // namespace l0sparse::index
