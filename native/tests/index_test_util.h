#pragma once
// Shared by the index tests: random sparse rows and the brute-force (float64) ranking they are checked against.
#include "index/batch_search.h"
#include "index/csr_view.h"
#include "index/inverted_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace l0sparse::index::testing_util {

struct Rows {
  std::vector<int32_t> indptr{0}, indices;
  std::vector<float> values;
  int64_t num_cols = 0;
  CsrView view() const { return {indptr.data(), indices.data(), values.data(), static_cast<int64_t>(indptr.size()) - 1, num_cols}; }
  void add(const std::map<int32_t, float>& row) {
    for (auto [c, v] : row) { indices.push_back(c); values.push_back(v); }
    indptr.push_back(static_cast<int32_t>(indices.size()));
  }
};

// Rows with Zipf-like term choice (a few frequent terms give long lists and many blocks).
// integer_weights draws from {1..4} so that many scores tie exactly.
inline Rows random_rows(std::mt19937& gen, int64_t rows, int64_t num_cols, int64_t max_nnz, bool integer_weights) {
  Rows out;
  out.num_cols = num_cols;
  std::uniform_int_distribution<int64_t> len(0, max_nnz);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<int> small(1, 4);
  for (int64_t r = 0; r < rows; ++r) {
    std::map<int32_t, float> row;
    const int64_t n = len(gen);
    for (int64_t i = 0; i < n; ++i) {
      const auto col = static_cast<int32_t>(std::min<double>(num_cols - 1, std::floor(num_cols * std::pow(u(gen), 2.5))));
      row[col] = integer_weights ? static_cast<float>(small(gen)) : static_cast<float>(0.01 + 3.0 * u(gen) * u(gen));
    }
    out.add(row);
  }
  return out;
}

// Sorted (score desc, doc asc) list of every document with a positive dot product.
inline std::vector<std::pair<float, int32_t>> brute_force(const Rows& docs, const Rows& queries, int64_t q) {
  std::map<int32_t, float> query;
  for (int32_t j = queries.indptr[q]; j < queries.indptr[q + 1]; ++j) query[queries.indices[j]] = queries.values[j];
  std::vector<std::pair<float, int32_t>> all;
  for (int64_t d = 0; d + 1 < static_cast<int64_t>(docs.indptr.size()); ++d) {
    double s = 0.0;
    bool shared = false;
    for (int32_t j = docs.indptr[d]; j < docs.indptr[d + 1]; ++j) {
      auto it = query.find(docs.indices[j]);
      if (it == query.end() || it->second == 0.0f || docs.values[j] == 0.0f) continue;
      s += static_cast<double>(it->second) * docs.values[j];
      shared = true;
    }
    if (shared) all.push_back({static_cast<float>(s), static_cast<int32_t>(d)});
  }
  std::sort(all.begin(), all.end(), [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  return all;
}

// Byte offset of section `tag`'s header in a v2 index file (layout: native/index/index_file.h); its payload
// starts 16 bytes later.
inline size_t index_section_at(const std::string& bytes, uint32_t tag) {
  size_t at = 80;
  for (uint32_t t = 1; t < tag; ++t) {
    uint64_t len;
    std::memcpy(&len, &bytes[at + 8], 8);
    at += 16 + (len + 7) / 8 * 8;
  }
  return at;
}

inline std::vector<std::string> make_ids(int64_t n, const std::string& prefix) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(prefix + std::to_string(i));
  return ids;
}

// Exact equality with the brute-force ranking: same docs, same float scores, same padding.
inline void expect_equal_to_brute_force(const InvertedIndex& index, const Rows& docs, const Rows& queries, int64_t k, int threads,
                                 SearchAlgorithm algorithm) {
  const int64_t nq = static_cast<int64_t>(queries.indptr.size()) - 1;
  std::vector<int32_t> got_docs(nq * k);
  std::vector<float> got_scores(nq * k);
  search_batch(index, queries.view(), k, threads, got_docs.data(), got_scores.data(), algorithm);
  for (int64_t q = 0; q < nq; ++q) {
    const auto want = brute_force(docs, queries, q);
    for (int64_t i = 0; i < k; ++i) {
      SCOPED_TRACE("query " + std::to_string(q) + " rank " + std::to_string(i) + " k " + std::to_string(k));
      if (i < static_cast<int64_t>(want.size())) {
        EXPECT_EQ(got_docs[q * k + i], want[i].second);
        EXPECT_EQ(got_scores[q * k + i], want[i].first);
      } else {
        EXPECT_EQ(got_docs[q * k + i], kNoDoc);
        EXPECT_EQ(got_scores[q * k + i], -std::numeric_limits<float>::infinity());
      }
    }
  }
}

inline void expect_equal_to_brute_force(const InvertedIndex& index, const Rows& docs, const Rows& queries, int64_t k, int threads) {
  for (SearchAlgorithm algorithm : {SearchAlgorithm::kMaxScore, SearchAlgorithm::kExhaustive, SearchAlgorithm::kAuto}) {
    SCOPED_TRACE("algorithm " + std::to_string(static_cast<int>(algorithm)));
    expect_equal_to_brute_force(index, docs, queries, k, threads, algorithm);
  }
}

}  // namespace l0sparse::index::testing_util
