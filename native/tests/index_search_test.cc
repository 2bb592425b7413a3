// Exact top-k of the inverted index (block-max MaxScore, batched on threads) against brute-force dot
// products over the same vectors, with ties forced by small integer weights.
#include "index/batch_search.h"
#include "index/inverted_index.h"
#include "index_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace l0sparse::index;
using namespace l0sparse::index::testing_util;

TEST(IndexSearch, EqualsBruteForceWithManyTies) {
  std::mt19937 gen(7);
  const Rows docs = random_rows(gen, 3000, 200, 30, /*integer_weights=*/true);
  const Rows queries = random_rows(gen, 40, 200, 8, true);
  InvertedIndex index(200);
  index.add(docs.view(), make_ids(3000, "d"));
  index.build();
  for (int64_t k : {1, 10, 100}) expect_equal_to_brute_force(index, docs, queries, k, 2);
}

TEST(IndexSearch, EqualsBruteForceWithRealValuedWeights) {
  std::mt19937 gen(11);
  const Rows docs = random_rows(gen, 4000, 500, 60, false);
  const Rows queries = random_rows(gen, 30, 500, 20, false);
  InvertedIndex index(500);
  index.add(docs.view(), make_ids(4000, "doc-"));
  index.build();
  expect_equal_to_brute_force(index, docs, queries, 10, 1);
  expect_equal_to_brute_force(index, docs, queries, 10, 3);
}

TEST(IndexSearch, BatchesAddedAcrossBuildsEqualOneBatch) {
  std::mt19937 gen(3);
  const Rows docs = random_rows(gen, 900, 80, 12, true);
  const Rows queries = random_rows(gen, 20, 80, 5, true);
  InvertedIndex index(80);
  const auto ids = make_ids(900, "x");
  // Three batches, with a build in between: new documents are appended to existing postings.
  for (int64_t part = 0; part < 3; ++part) {
    Rows batch;
    batch.num_cols = 80;
    for (int64_t r = part * 300; r < (part + 1) * 300; ++r) {
      std::map<int32_t, float> row;
      for (int32_t j = docs.indptr[r]; j < docs.indptr[r + 1]; ++j) row[docs.indices[j]] = docs.values[j];
      batch.add(row);
    }
    index.add(batch.view(), std::vector<std::string>(ids.begin() + part * 300, ids.begin() + (part + 1) * 300));
    if (part != 1) index.build();
  }
  EXPECT_EQ(index.num_docs(), 900);
  expect_equal_to_brute_force(index, docs, queries, 25, 2);
}

TEST(IndexSearch, HandComputedScoresAndPadding) {
  // doc0 = {0:1, 2:2}, doc1 = {1:3}, doc2 = {0:2, 1:1}; query {0:1, 1:2} -> doc1 6, doc2 4, doc0 1.
  Rows docs;
  docs.num_cols = 3;
  docs.add({{0, 1.f}, {2, 2.f}});
  docs.add({{1, 3.f}});
  docs.add({{0, 2.f}, {1, 1.f}});
  Rows queries;
  queries.num_cols = 3;
  queries.add({{0, 1.f}, {1, 2.f}});
  queries.add({{2, 0.5f}});
  queries.add({});
  InvertedIndex index(3);
  index.add(docs.view(), {"a", "b", "c"});
  index.build();
  std::vector<int32_t> d(3 * 4);
  std::vector<float> s(3 * 4);
  search_batch(index, queries.view(), 4, 1, d.data(), s.data());
  EXPECT_EQ(std::vector<int32_t>(d.begin(), d.begin() + 4), (std::vector<int32_t>{1, 2, 0, kNoDoc}));
  EXPECT_EQ(std::vector<float>(s.begin(), s.begin() + 3), (std::vector<float>{6.f, 4.f, 1.f}));
  EXPECT_EQ(d[4], 0);
  EXPECT_EQ(s[4], 1.f);
  EXPECT_EQ(d[5], kNoDoc);
  EXPECT_EQ(d[8], kNoDoc);  // an empty query matches nothing
}

TEST(IndexSearch, RejectsBadInput) {
  InvertedIndex index(4);
  Rows docs;
  docs.num_cols = 4;
  docs.add({{1, 1.f}});
  index.add(docs.view(), {"a"});
  EXPECT_THROW(index.add(docs.view(), {"a"}), std::invalid_argument);        // duplicate id
  EXPECT_THROW(index.add(docs.view(), {"b", "c"}), std::invalid_argument);   // id count
  EXPECT_THROW(index.add(docs.view(), {""}), std::invalid_argument);         // empty id
  Rows negative;
  negative.num_cols = 4;
  negative.add({{2, -1.f}});
  EXPECT_THROW(index.add(negative.view(), {"n"}), std::invalid_argument);
  Rows queries;
  queries.num_cols = 4;
  queries.add({{1, 1.f}});
  std::vector<int32_t> d(1);
  std::vector<float> s(1);
  EXPECT_THROW(search_batch(index, queries.view(), 1, 1, d.data(), s.data()), std::logic_error);  // not built
  index.build();
  EXPECT_EQ(index.num_docs(), 1);  // the rejected batches left nothing behind
  search_batch(index, queries.view(), 1, 1, d.data(), s.data());
  EXPECT_EQ(d[0], 0);
  queries.num_cols = 5;
  EXPECT_THROW(search_batch(index, queries.view(), 1, 1, d.data(), s.data()), std::invalid_argument);
  EXPECT_THROW(InvertedIndex(0), std::invalid_argument);
}
