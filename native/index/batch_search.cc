#include "index/batch_search.h"

#include "index/exhaustive.h"
#include "index/maxscore.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace l0sparse::index {
namespace {

bool use_exhaustive(SearchAlgorithm algorithm) { return algorithm == SearchAlgorithm::kExhaustive; }

// Per worker thread: the accumulator is made on the first query that needs it.
struct Scratch {
  std::unique_ptr<ScoreAccumulator> accumulator;
};

void search_one(const InvertedIndex& index, const CsrView& queries, int64_t row, int64_t k, int32_t* doc_indices,
                float* scores, SearchAlgorithm algorithm, Scratch& scratch) {
  std::vector<QueryTerm> terms;
  terms.reserve(static_cast<size_t>(queries.indptr[row + 1] - queries.indptr[row]));
  for (int64_t j = queries.indptr[row]; j < queries.indptr[row + 1]; ++j)
    terms.push_back({queries.indices[j], queries.values[j]});
  TopKQueue queue(k);
  if (use_exhaustive(algorithm)) {
    if (!scratch.accumulator) scratch.accumulator = std::make_unique<ScoreAccumulator>(index.num_docs());
    exhaustive_search(index, terms, *scratch.accumulator, queue);
  } else {
    maxscore_search(index, terms, queue);
  }
  const std::vector<ScoredDoc> best = queue.take_sorted();
  int32_t* out_docs = doc_indices + row * k;
  float* out_scores = scores + row * k;
  for (int64_t i = 0; i < k; ++i) {
    const bool hit = i < static_cast<int64_t>(best.size());
    out_docs[i] = hit ? static_cast<int32_t>(best[i].doc) : kNoDoc;
    out_scores[i] = hit ? best[i].score : -std::numeric_limits<float>::infinity();
  }
}

}  // namespace

void search_batch(const InvertedIndex& index, const CsrView& queries, int64_t k, int threads, int32_t* doc_indices,
                  float* scores, SearchAlgorithm algorithm) {
  if (index.pending_rows() > 0)
    throw std::logic_error("search: " + std::to_string(index.pending_rows()) +
                           " documents were added since the last build(); call build() first");
  if (k < 1) throw std::invalid_argument("search: k must be >= 1, got " + std::to_string(k));
  if (queries.num_cols != index.num_cols())
    throw std::invalid_argument("search: queries have numCols " + std::to_string(queries.num_cols) + " but the index has " +
                                std::to_string(index.num_cols()));
  validate_csr(queries, queries.nnz(), ValueRule::kNonNegative, "queries");
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(queries.rows, 1)));

  std::atomic<int64_t> next_row{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&]() {
    try {
      Scratch scratch;
      for (int64_t row = next_row++; row < queries.rows; row = next_row++)
        search_one(index, queries, row, k, doc_indices, scores, algorithm, scratch);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next_row = queries.rows;  // stop the other workers early
    }
  };
  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(threads) - 1);
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace l0sparse::index
