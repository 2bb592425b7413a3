// Save/load round trip of the index file (v2, memory-mapped; v1 still read) and its rejection of damaged files.
#include "index/batch_search.h"
#include "index/crc32.h"
#include "index/index_file.h"
#include "index_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace l0sparse::index;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class IndexFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("l0sparse-index-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::mt19937 gen(5);
    std::uniform_real_distribution<float> w(0.1f, 2.0f);
    indptr_ = {0};
    for (int r = 0; r < 200; ++r) {
      for (int c = r % 7; c < 50; c += 3 + r % 5) { indices_.push_back(c); values_.push_back(w(gen)); }
      indptr_.push_back(static_cast<int32_t>(indices_.size()));
      ids_.push_back("doc/" + std::to_string(r) + (r % 3 ? "" : "-é"));
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  InvertedIndex make() const {
    InvertedIndex index(50);
    index.add({indptr_.data(), indices_.data(), values_.data(), 200, 50}, ids_);
    index.build();
    return index;
  }
  // Rewrites one payload byte range of section `tag` and recomputes its checksum.
  static void patch_section(std::string& bytes, uint32_t tag, size_t offset, const void* value, size_t size) {
    const size_t at = testing_util::index_section_at(bytes, tag);
    std::memcpy(&bytes[at + 16 + offset], value, size);
    uint64_t len;
    std::memcpy(&len, &bytes[at + 8], 8);
    const uint32_t crc = crc32(&bytes[at + 16], len);
    std::memcpy(&bytes[at + 4], &crc, 4);
  }
  void expect_rejected(const std::string& content, const std::string& needle) {
    const fs::path bad = dir_ / "bad.l0idx";
    write_all(bad, content);
    try {
      load_index(bad.string());
      ADD_FAILURE() << "loaded a damaged file (" << needle << ")";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  void expect_same_postings(const InvertedIndex& a, const InvertedIndex& b) {
    std::vector<uint64_t> oa, ob;
    std::vector<uint32_t> da, db;
    std::vector<float> wa, wb;
    a.decode_all(oa, da, wa);
    b.decode_all(ob, db, wb);
    EXPECT_EQ(oa, ob);
    EXPECT_EQ(da, db);
    EXPECT_EQ(wa, wb);
    EXPECT_EQ(a.ids(), b.ids());
  }
  fs::path dir_;
  std::vector<int32_t> indptr_, indices_;
  std::vector<float> values_;
  std::vector<std::string> ids_;
};

}  // namespace

TEST(Crc32, KnownValues) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);  // the standard check value of CRC-32/ISO-HDLC
  EXPECT_EQ(crc32("", 0), 0u);
  EXPECT_EQ(crc32("6789", 4, crc32("12345", 5)), 0xCBF43926u);
}

TEST_F(IndexFile, RoundTripMapsTheFileAndKeepsPostingsIdsAndResults) {
  const InvertedIndex index = make();
  const fs::path path = dir_ / "a.l0idx";
  save_index(index, path.string());
  const InvertedIndex loaded = load_index(path.string());
  EXPECT_TRUE(loaded.stats().mapped);
  EXPECT_FALSE(index.stats().mapped);
  expect_same_postings(index, loaded);
  // The decoded postings are the added vectors themselves.
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> docs;
  std::vector<float> weights;
  loaded.decode_all(offsets, docs, weights);
  std::multiset<std::tuple<int, uint32_t, float>> want, got;
  for (int r = 0; r < 200; ++r)
    for (int j = indptr_[r]; j < indptr_[r + 1]; ++j) want.insert({indices_[j], static_cast<uint32_t>(r), values_[j]});
  for (int t = 0; t < 50; ++t)
    for (uint64_t j = offsets[t]; j < offsets[t + 1]; ++j) got.insert({t, docs[j], weights[j]});
  EXPECT_EQ(got, want);
  std::vector<int32_t> q_indptr{0, 3}, q_indices{1, 4, 9};
  std::vector<float> q_values{0.5f, 1.5f, 1.f};
  const CsrView queries{q_indptr.data(), q_indices.data(), q_values.data(), 1, 50};
  std::vector<int32_t> d1(10), d2(10);
  std::vector<float> s1(10), s2(10);
  search_batch(index, queries, 10, 1, d1.data(), s1.data());
  search_batch(loaded, queries, 10, 1, d2.data(), s2.data());
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(s1, s2);
  // No temp file is left beside the index.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(IndexFile, MappedIndexTakesNewDocumentsAndSavesAgain) {
  const fs::path path = dir_ / "a.l0idx", again = dir_ / "b.l0idx";
  save_index(make(), path.string());
  InvertedIndex loaded = load_index(path.string());
  std::vector<int32_t> indptr{0, 2}, indices{3, 7};
  std::vector<float> values{1.25f, 0.5f};
  EXPECT_THROW(loaded.add({indptr.data(), indices.data(), values.data(), 1, 50}, {"doc/1"}), std::invalid_argument);  // duplicate
  loaded.add({indptr.data(), indices.data(), values.data(), 1, 50}, {"new"});
  loaded.build(2);
  EXPECT_FALSE(loaded.stats().mapped);
  EXPECT_EQ(loaded.num_docs(), 201);
  EXPECT_EQ(loaded.id(200), "new");
  save_index(loaded, again.string());
  expect_same_postings(loaded, load_index(again.string()));
}

TEST_F(IndexFile, Version1FilesStillLoad) {
  const InvertedIndex index = make();
  const fs::path path = dir_ / "v1.l0idx";
  save_index_v1(index, path.string());
  const std::string bytes = read_all(path);
  uint32_t version;
  std::memcpy(&version, &bytes[8], 4);
  ASSERT_EQ(version, 1u);
  const InvertedIndex loaded = load_index(path.string());
  EXPECT_FALSE(loaded.stats().mapped);  // converted to blocks on load
  expect_same_postings(index, loaded);
}

TEST_F(IndexFile, QuantizedWeightsAreWithinHalfAStepAndStayQuantized) {
  const InvertedIndex index = make();
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> docs;
  std::vector<float> exact;
  index.decode_all(offsets, docs, exact);
  for (auto coding : {WeightCoding::kUint8, WeightCoding::kUint16}) {
    for (bool per_term : {true, false}) {
      SCOPED_TRACE(std::string(weight_coding_name(coding)) + (per_term ? " per term" : " global"));
      const fs::path path = dir_ / "q.l0idx";
      SaveOptions options;
      options.coding = coding;
      options.per_term_scale = per_term;
      save_index(index, path.string(), options);
      InvertedIndex loaded = load_index(path.string());
      EXPECT_EQ(loaded.coding(), coding);
      std::vector<uint64_t> q_offsets;
      std::vector<uint32_t> q_docs;
      std::vector<float> q_weights;
      loaded.decode_all(q_offsets, q_docs, q_weights);
      EXPECT_EQ(q_offsets, offsets);
      EXPECT_EQ(q_docs, docs);
      const double steps = coding == WeightCoding::kUint8 ? 255.0 : 65535.0;
      double global_max = 0.0;
      for (float w : exact) global_max = std::max(global_max, static_cast<double>(w));
      for (int t = 0; t < 50; ++t) {
        double term_max = 0.0;
        for (uint64_t j = offsets[t]; j < offsets[t + 1]; ++j) term_max = std::max(term_max, static_cast<double>(exact[j]));
        const double step = (per_term ? term_max : global_max) / steps;
        for (uint64_t j = offsets[t]; j < offsets[t + 1]; ++j) {
          // Half a step of rounding (plus the float rounding of code x scale), or rounded up to one step
          // (no posting is dropped).
          const double err = std::abs(static_cast<double>(q_weights[j]) - exact[j]);
          EXPECT_TRUE(err <= step * 0.5 + 4e-7 * exact[j] || (exact[j] < step && std::abs(q_weights[j] - step) <= 1e-6 * step))
              << "term " << t << " weight " << exact[j] << " read back as " << q_weights[j];
        }
      }
      // Saved again without options it stays quantized; it takes no new documents.
      save_index(loaded, (dir_ / "q2.l0idx").string());
      EXPECT_EQ(read_all(dir_ / "q2.l0idx"), read_all(path));
      SaveOptions exact_options;
      exact_options.coding = WeightCoding::kExactFloat32;
      EXPECT_THROW(save_index(loaded, (dir_ / "q3.l0idx").string(), exact_options), std::invalid_argument);
      std::vector<int32_t> indptr{0, 1}, indices{3};
      std::vector<float> values{1.0f};
      EXPECT_THROW(loaded.add({indptr.data(), indices.data(), values.data(), 1, 50}, {"new"}), std::invalid_argument);
    }
  }
}

TEST_F(IndexFile, RejectsTruncationBitFlipsAndLyingHeaders) {
  const fs::path good = dir_ / "good.l0idx";
  save_index(make(), good.string());
  const std::string bytes = read_all(good);
  expect_rejected(bytes.substr(0, bytes.size() - 1), "truncated");
  expect_rejected(bytes.substr(0, 12), "too short");
  expect_rejected(bytes + "x", "header implies");
  expect_rejected("NOTANIDX" + bytes.substr(8), "bad magic");
  // Every byte: flipping it must be caught (header or section checksum, tag, length, padding or trailer).
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string flipped = bytes;
    flipped[pos] ^= 0x10;
    write_all(dir_ / "bad.l0idx", flipped);
    EXPECT_THROW(load_index((dir_ / "bad.l0idx").string()), std::runtime_error) << "byte " << pos;
  }
  // A header claiming 2^40 postings (with a valid header checksum) must fail before allocating.
  std::string lying = bytes;
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(&lying[32], &huge, 8);
  const uint32_t crc = crc32(lying.data(), 72);
  std::memcpy(&lying[72], &crc, 4);
  expect_rejected(lying, "exceed the file size");
  expect_rejected(std::string(), "too short");
  EXPECT_THROW(load_index((dir_ / "missing").string()), std::runtime_error);
}

TEST_F(IndexFile, RejectsValidChecksumsOverInvalidPostings) {
  // Each damage comes with a matching checksum: the structural checks must still refuse it (a checksum
  // only proves the bytes were not damaged after saving).
  const fs::path path = dir_ / "x.l0idx";
  save_index(make(), path.string());
  const std::string bytes = read_all(path);
  {
    std::string b = bytes;
    const uint32_t last = 1000000;
    patch_section(b, 2, 0, &last, 4);  // the first block's last doc
    expect_rejected(b, "last doc");
  }
  {
    std::string b = bytes;
    const float max = 123.0f;
    patch_section(b, 3, 0, &max, 4);
    expect_rejected(b, "block max");
  }
  {
    std::string b = bytes;
    const uint8_t width = 40;
    patch_section(b, 5, 0, &width, 1);  // the first block's doc bit width
    expect_rejected(b, "bit width");
  }
  {
    std::string b = bytes;
    const uint64_t past = 1 << 20;
    patch_section(b, 4, 8, &past, 8);  // block 1 starts past the data
    expect_rejected(b, "leave the data");
  }
  {
    std::string b = bytes;
    const uint64_t end_of_first = 5;  // "doc/0" is 5 bytes: doc 1 becomes empty
    patch_section(b, 7, 16, &end_of_first, 8);
    expect_rejected(b, "id offsets");
  }
}
