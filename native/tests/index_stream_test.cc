// Streaming build (batches folded into the compressed PostingsBuilder every fold_threshold postings) and
// lazily verified loading (each term's blocks checked on first use). The truths: the one-shot encoder
// (index_from_postings -> encode_postings, a separate code path) for the bytes, brute force for rankings,
// and the fully verifying loader for what counts as damage.
#include "index/crc32.h"
#include "index/index_file.h"
#include "index_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace l0sparse::index;
using namespace l0sparse::index::testing_util;
namespace fs = std::filesystem;

namespace {

uint32_t bits_of(float w) {
  uint32_t b;
  std::memcpy(&b, &w, 4);
  return b;
}

// The index of `docs` built by the one-shot encoder, from postings inverted here by brute force.
InvertedIndex one_shot(const Rows& docs, const std::vector<std::string>& ids) {
  std::vector<std::vector<std::pair<uint32_t, float>>> lists(static_cast<size_t>(docs.num_cols));
  for (size_t d = 0; d + 1 < docs.indptr.size(); ++d)
    for (int32_t j = docs.indptr[d]; j < docs.indptr[d + 1]; ++j)
      if (docs.values[j] != 0.0f) lists[docs.indices[j]].push_back({static_cast<uint32_t>(d), docs.values[j]});
  std::vector<uint64_t> offsets{0};
  std::vector<uint32_t> doc_ids;
  std::vector<float> weights;
  for (const auto& l : lists) {
    for (auto [d, w] : l) { doc_ids.push_back(d); weights.push_back(w); }
    offsets.push_back(doc_ids.size());
  }
  return index_from_postings(docs.num_cols, ids, offsets, doc_ids, weights);
}

void expect_same_bytes(const InvertedIndex& a, const InvertedIndex& b) {
  const PostingsView& p = a.postings();
  const PostingsView& q = b.postings();
  ASSERT_EQ(p.num_cols, q.num_cols);
  ASSERT_EQ(p.blocks, q.blocks);
  ASSERT_EQ(p.data_bytes, q.data_bytes);
  EXPECT_EQ(0, std::memcmp(p.term_offsets, q.term_offsets, (p.num_cols + 1) * 8));
  EXPECT_EQ(0, std::memcmp(p.block_last_doc, q.block_last_doc, p.blocks * 4));
  EXPECT_EQ(0, std::memcmp(p.block_max, q.block_max, p.blocks * 4));
  EXPECT_EQ(0, std::memcmp(p.block_offsets, q.block_offsets, (p.blocks + 1) * 8));
  EXPECT_EQ(0, std::memcmp(p.data, q.data, p.data_bytes));
  EXPECT_EQ(a.ids(), b.ids());
}

Rows slice(const Rows& rows, int64_t begin, int64_t end) {
  Rows out;
  out.num_cols = rows.num_cols;
  for (int64_t r = begin; r < end; ++r) {
    for (int32_t j = rows.indptr[r]; j < rows.indptr[r + 1]; ++j) {
      out.indices.push_back(rows.indices[j]);
      out.values.push_back(rows.values[j]);
    }
    out.indptr.push_back(static_cast<int32_t>(out.indices.size()));
  }
  return out;
}

std::vector<std::string> slice(const std::vector<std::string>& v, int64_t begin, int64_t end) {
  return {v.begin() + begin, v.begin() + end};
}

}  // namespace

TEST(IndexStream, FoldedBatchesGiveTheOneShotBytesOnAnyThreadCount) {
  std::mt19937 gen(21);
  const Rows docs = random_rows(gen, 3000, 300, 40, false);
  const auto ids = make_ids(3000, "d");
  const InvertedIndex truth = one_shot(docs, ids);
  for (int threads : {1, 2, 3}) {
    for (int64_t threshold : {int64_t{1}, int64_t{97}, int64_t{5000}, int64_t{1} << 30}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + ", fold threshold " + std::to_string(threshold));
      InvertedIndex index(300);
      index.set_fold_threshold(threshold);
      // Uneven batches, so folds cut blocks at every possible fill.
      for (int64_t begin = 0, step = 1; begin < 3000; begin += step, step = step * 3 % 211 + 1) {
        const int64_t end = std::min<int64_t>(3000, begin + step);
        index.add(slice(docs, begin, end).view(), slice(ids, begin, end), threads);
        EXPECT_EQ(index.num_docs(), 0);  // nothing searchable before build()
      }
      EXPECT_EQ(index.pending_rows(), 3000);
      index.build(threads);
      EXPECT_EQ(index.pending_rows(), 0);
      expect_same_bytes(index, truth);
    }
  }
}

TEST(IndexStream, AddingToABuiltIndexContinuesItsPartialBlocks) {
  std::mt19937 gen(22);
  const Rows docs = random_rows(gen, 2000, 120, 30, true);
  const auto ids = make_ids(2000, "d");
  const InvertedIndex truth = one_shot(docs, ids);
  InvertedIndex index(120);
  index.set_fold_threshold(500);
  for (int64_t begin : {0, 333, 1000, 1001, 1777}) {
    const int64_t end = begin == 0 ? 333 : begin == 333 ? 1000 : begin == 1000 ? 1001 : begin == 1001 ? 1777 : 2000;
    index.add(slice(docs, begin, end).view(), slice(ids, begin, end), 2);
    index.build(2);
    EXPECT_EQ(index.num_docs(), end);
  }
  expect_same_bytes(index, truth);
  const Rows queries = random_rows(gen, 20, 120, 8, true);
  expect_equal_to_brute_force(index, docs, queries, 10, 2, SearchAlgorithm::kMaxScore);
}

class IndexLazyLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("l0sparse-index-lazy-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::mt19937 gen(23);
    docs_ = random_rows(gen, 1500, 80, 25, false);
    queries_ = random_rows(gen, 30, 80, 8, false);
    InvertedIndex index(80);
    index.add(docs_.view(), make_ids(1500, "d"));
    index.build();
    save_index(index, file().string());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file() const { return dir_ / "x.l0idx"; }
  std::string bytes() const {
    std::ifstream in(file(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void write(const fs::path& p, const std::string& b) const {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  }
  static size_t payload_at(const std::string& b, uint32_t tag) { return index_section_at(b, tag) + 16; }
  fs::path dir_;
  Rows docs_, queries_;
};

TEST_F(IndexLazyLoad, AnUndamagedFileSearchesExactlyAndSavesTheSameBytes) {
  const InvertedIndex lazy = load_index(file().string(), 2, Verify::kOnFirstUse);
  ASSERT_TRUE(lazy.stats().mapped);
  for (auto algorithm : {SearchAlgorithm::kMaxScore, SearchAlgorithm::kExhaustive})
    expect_equal_to_brute_force(lazy, docs_, queries_, 10, 2, algorithm);
  save_index(lazy, (dir_ / "again.l0idx").string());
  std::ifstream again(dir_ / "again.l0idx", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(again), {}), bytes());
}

TEST_F(IndexLazyLoad, ADamagedTermFailsItsFirstSearchAndEverythingThatReadsIt) {
  // The first block of the most frequent term gets a 40-bit doc width: no checksum is involved in lazy
  // mode for posting data, so only the term check can catch it.
  std::string b = bytes();
  std::vector<uint64_t> offsets(81);
  std::memcpy(offsets.data(), &b[payload_at(b, 1)], 81 * 8);
  int64_t damaged = 0;
  for (int64_t t = 0; t < 80; ++t)
    if (offsets[t + 1] - offsets[t] > offsets[damaged + 1] - offsets[damaged]) damaged = t;
  int64_t first_block = 0;
  for (int64_t t = 0; t < damaged; ++t) first_block += static_cast<int64_t>((offsets[t + 1] - offsets[t] + 63) / 64);
  uint64_t block_offset;
  std::memcpy(&block_offset, &b[payload_at(b, 4) + first_block * 8], 8);
  b[payload_at(b, 5) + block_offset] = 40;
  const fs::path bad = dir_ / "bad.l0idx";
  write(bad, b);

  EXPECT_THROW(load_index(bad.string(), 1, Verify::kFull), std::runtime_error);
  const InvertedIndex lazy = load_index(bad.string(), 1, Verify::kOnFirstUse);
  // A query without the damaged term is answered (exactly); one with it is refused, every time.
  Rows other, with;
  other.num_cols = with.num_cols = 80;
  other.add({{static_cast<int32_t>((damaged + 1) % 80), 1.0f}});
  with.add({{static_cast<int32_t>(damaged), 1.0f}});
  std::vector<int32_t> docs_out(10);
  std::vector<float> scores_out(10);
  EXPECT_NO_THROW(search_batch(lazy, other.view(), 10, 1, docs_out.data(), scores_out.data()));
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      search_batch(lazy, with.view(), 10, 2, docs_out.data(), scores_out.data());
      ADD_FAILURE() << "searched a damaged term";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("corrupt index file"), std::string::npos) << what;
      EXPECT_NE(what.find(bad.string()), std::string::npos) << what;
      EXPECT_NE(what.find("term " + std::to_string(damaged)), std::string::npos) << what;
    }
  }
  // Saving or adding to it must not carry the damage into a new file with fresh checksums.
  EXPECT_THROW(save_index(lazy, (dir_ / "copy.l0idx").string()), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir_ / "copy.l0idx"));
  InvertedIndex grown = load_index(bad.string(), 1, Verify::kOnFirstUse);
  Rows one;
  one.num_cols = 80;
  one.add({{3, 1.0f}});
  grown.add(one.view(), {"new"});
  EXPECT_THROW(grown.build(), std::runtime_error);
}

TEST_F(IndexLazyLoad, DuplicateIdsAreCaughtBeforeTheyAreCopiedOrAddedTo) {
  std::string b = bytes();
  // Ids d0, d1, ...: make the second id equal the first ("d1" -> "d0").
  b[payload_at(b, 8) + 3] = '0';
  // Re-checksum the id bytes (lazy mode checks that section's checksum).
  uint64_t len;
  const size_t head = payload_at(b, 8) - 16;
  std::memcpy(&len, &b[head + 8], 8);
  const uint32_t crc = crc32(&b[head + 16], len);
  std::memcpy(&b[head + 4], &crc, 4);
  const fs::path bad = dir_ / "dup.l0idx";
  write(bad, b);
  EXPECT_THROW(load_index(bad.string(), 1, Verify::kFull), std::runtime_error);
  InvertedIndex lazy = load_index(bad.string(), 1, Verify::kOnFirstUse);
  EXPECT_THROW(save_index(lazy, (dir_ / "copy.l0idx").string()), std::runtime_error);
  Rows one;
  one.num_cols = 80;
  one.add({{3, 1.0f}});
  EXPECT_THROW(lazy.add(one.view(), {"new"}), std::runtime_error);
}

TEST_F(IndexLazyLoad, ChecksumsOfTheSmallSectionsAreStillCheckedOnOpen) {
  for (uint32_t tag : {1u, 7u, 8u}) {
    std::string b = bytes();
    b[payload_at(b, tag)] ^= 0x01;
    const fs::path bad = dir_ / ("flip" + std::to_string(tag) + ".l0idx");
    write(bad, b);
    EXPECT_THROW(load_index(bad.string(), 1, Verify::kOnFirstUse), std::runtime_error) << "section " << tag;
  }
}
