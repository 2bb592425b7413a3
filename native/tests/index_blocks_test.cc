// The compressed posting blocks: the codec against its input at every bit width, multi-threaded builds
// against a single-threaded one, and searches over mapped and quantized files against brute force.
#include "index/batch_search.h"
#include "index/block_codec.h"
#include "index/index_file.h"
#include "index/inverted_index.h"
#include "index_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

using namespace l0sparse::index;
using namespace l0sparse::index::testing_util;
namespace fs = std::filesystem;

TEST(BlockCodec, RoundTripsEveryWidth) {
  std::mt19937 gen(3);
  for (int width = 0; width <= 31; ++width) {
    for (int64_t n : {int64_t{1}, int64_t{17}, kBlockSize}) {
      SCOPED_TRACE("width " + std::to_string(width) + " n " + std::to_string(n));
      const uint32_t max_gap = width == 0 ? 0 : static_cast<uint32_t>((uint64_t{1} << width) - 1);
      std::uniform_int_distribution<uint32_t> gap(0, std::min<uint32_t>(max_gap, (INT32_MAX - 1000) / kBlockSize));
      std::uniform_int_distribution<uint32_t> code(1, 0x7F7FFFFFu);
      std::vector<uint32_t> docs, codes;
      int64_t doc = 999;
      for (int64_t i = 0; i < n; ++i) {
        doc += gap(gen) + 1;
        docs.push_back(static_cast<uint32_t>(doc));
        codes.push_back(i == 0 ? 0x7F7FFFFFu : code(gen));  // the largest finite float's bits included
      }
      std::vector<uint8_t> bytes(static_cast<size_t>(max_block_bytes(n) + kDataPadding), 0);
      const int64_t size = encode_block(docs.data(), codes.data(), n, 999, bytes.data());
      const BlockHeader h = read_block_header(bytes.data());
      EXPECT_EQ(size, block_bytes(n, h.doc_bits, h.weight_bits));
      std::vector<uint32_t> got_docs(n), got_codes(n);
      decode_block_docs(bytes.data(), h, n, 999, got_docs.data());
      decode_block_codes(bytes.data(), h, n, got_codes.data());
      EXPECT_EQ(got_docs, docs);
      EXPECT_EQ(got_codes, codes);
    }
  }
}

TEST(BlockCodec, ShiftsOutTrailingZeroBitsOfShortMantissas) {
  // Weights with 9 significant bits (Lucene FeatureField values; bf16 has 8) within one binade: their bit
  // patterns differ only in the top 8 mantissa bits, so 8 bits per weight suffice, exactly.
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(1.0f, 2.0f);
  std::vector<uint32_t> docs, codes;
  for (int64_t i = 0; i < kBlockSize; ++i) {
    docs.push_back(static_cast<uint32_t>(3 * i));
    float w = u(gen);
    uint32_t bits;
    std::memcpy(&bits, &w, 4);
    codes.push_back(bits >> 15 << 15);
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(max_block_bytes(kBlockSize) + kDataPadding), 0);
  encode_block(docs.data(), codes.data(), kBlockSize, -1, bytes.data());
  const BlockHeader h = read_block_header(bytes.data());
  EXPECT_LE(h.weight_bits, 8);
  EXPECT_GE(h.weight_shift, 15);
  std::vector<uint32_t> got(kBlockSize);
  decode_block_codes(bytes.data(), h, kBlockSize, got.data());
  EXPECT_EQ(got, codes);
}

TEST(IndexBlocks, ThreadedBuildEqualsSingleThreadedAndIncrementalBuilds) {
  std::mt19937 gen(11);
  const Rows docs = random_rows(gen, 5000, 300, 40, false);
  InvertedIndex one(300), many(300), steps(300);
  one.add(docs.view(), make_ids(5000, "d"));
  one.build(1);
  many.add(docs.view(), make_ids(5000, "d"));
  many.build(4);
  // The same rows in three batches with builds in between (appending to existing blocks).
  const std::vector<std::string> ids = make_ids(5000, "d");
  for (auto [lo, hi] : {std::pair{0, 1000}, std::pair{1000, 1001}, std::pair{1001, 5000}}) {
    Rows part;
    part.num_cols = 300;
    for (int r = lo; r < hi; ++r) {
      std::map<int32_t, float> row;
      for (int j = docs.indptr[r]; j < docs.indptr[r + 1]; ++j) row[docs.indices[j]] = docs.values[j];
      part.add(row);
    }
    steps.add(part.view(), std::vector<std::string>(ids.begin() + lo, ids.begin() + hi));
    steps.build(3);
  }
  std::vector<uint64_t> o1, o2, o3;
  std::vector<uint32_t> d1, d2, d3;
  std::vector<float> w1, w2, w3;
  one.decode_all(o1, d1, w1);
  many.decode_all(o2, d2, w2);
  steps.decode_all(o3, d3, w3);
  EXPECT_EQ(o1, o2);
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(w1, w2);
  EXPECT_EQ(o1, o3);
  EXPECT_EQ(d1, d3);
  EXPECT_EQ(w1, w3);
  EXPECT_EQ(steps.ids(), ids);
  EXPECT_EQ(static_cast<int64_t>(d1.size()), docs.indptr.back());
}

class IndexBlocksFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("l0sparse-index-blocks-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(IndexBlocksFile, MappedExactIndexEqualsBruteForce) {
  std::mt19937 gen(13);
  const Rows docs = random_rows(gen, 4000, 250, 30, false);
  const Rows queries = random_rows(gen, 30, 250, 10, false);
  InvertedIndex index(250);
  index.add(docs.view(), make_ids(4000, "d"));
  index.build(2);
  save_index(index, (dir_ / "x.l0idx").string());
  const InvertedIndex loaded = load_index((dir_ / "x.l0idx").string(), 2);
  ASSERT_TRUE(loaded.stats().mapped);
  for (int64_t k : {1, 10, 100}) expect_equal_to_brute_force(loaded, docs, queries, k, 2);
}

TEST_F(IndexBlocksFile, QuantizedIndexRanksExactlyByItsOwnWeights) {
  // The scores of a quantized index are approximate with respect to the original vectors, but exact with
  // respect to the weights it reads back: brute force over those must give the same ranking.
  std::mt19937 gen(17);
  const Rows docs = random_rows(gen, 3000, 200, 30, false);
  const Rows queries = random_rows(gen, 25, 200, 10, false);
  InvertedIndex index(200);
  index.add(docs.view(), make_ids(3000, "d"));
  index.build();
  for (auto coding : {WeightCoding::kUint8, WeightCoding::kUint16}) {
    SCOPED_TRACE(weight_coding_name(coding));
    SaveOptions options;
    options.coding = coding;
    save_index(index, (dir_ / "q.l0idx").string(), options);
    const InvertedIndex loaded = load_index((dir_ / "q.l0idx").string());
    std::vector<uint64_t> offsets;
    std::vector<uint32_t> doc_ids;
    std::vector<float> weights;
    loaded.decode_all(offsets, doc_ids, weights);
    // The read-back weights as rows again.
    std::vector<std::map<int32_t, float>> rows(3000);
    for (int t = 0; t < 200; ++t)
      for (uint64_t j = offsets[t]; j < offsets[t + 1]; ++j) rows[doc_ids[j]][t] = weights[j];
    Rows dequantized;
    dequantized.num_cols = 200;
    for (const auto& row : rows) dequantized.add(row);
    for (int64_t k : {1, 10}) expect_equal_to_brute_force(loaded, dequantized, queries, k, 1);
  }
}
