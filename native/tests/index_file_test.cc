// Save/load round trip of the index file and its rejection of damaged files.
#include "index/batch_search.h"
#include "index/crc32.h"
#include "index/index_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
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

TEST_F(IndexFile, RoundTripKeepsPostingsIdsAndResults) {
  const InvertedIndex index = make();
  const fs::path path = dir_ / "a.l0idx";
  save_index(index, path.string());
  const InvertedIndex loaded = load_index(path.string());
  EXPECT_EQ(loaded.ids(), index.ids());
  EXPECT_EQ(loaded.term_offsets(), index.term_offsets());
  EXPECT_EQ(loaded.doc_id_array(), index.doc_id_array());
  EXPECT_EQ(loaded.weight_array(), index.weight_array());
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

TEST_F(IndexFile, RejectsTruncationBitFlipsAndLyingHeaders) {
  const fs::path good = dir_ / "good.l0idx", bad = dir_ / "bad.l0idx";
  save_index(make(), good.string());
  const std::string bytes = read_all(good);
  auto expect_rejected = [&](const std::string& content, const std::string& needle) {
    write_all(bad, content);
    try {
      load_index(bad.string());
      ADD_FAILURE() << "loaded a damaged file (" << needle << ")";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_rejected(bytes.substr(0, bytes.size() - 1), "truncated");
  expect_rejected(bytes.substr(0, 20), "too short");
  expect_rejected(bytes + "x", "header implies");
  expect_rejected("NOTANIDX" + bytes.substr(8), "bad magic");
  // Every byte after the header: flipping it must be caught (section checksum, tag, length or trailer).
  for (size_t pos = 56; pos < bytes.size(); pos += bytes.size() / 90) {
    std::string flipped = bytes;
    flipped[pos] ^= 0x10;
    write_all(bad, flipped);
    EXPECT_THROW(load_index(bad.string()), std::runtime_error) << "byte " << pos;
  }
  // A header claiming 2^40 postings (with a valid header checksum) must fail before allocating.
  std::string lying = bytes;
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(&lying[32], &huge, 8);
  const uint32_t crc = crc32(lying.data(), 52);
  std::memcpy(&lying[52], &crc, 4);
  expect_rejected(lying, "exceed the file size");
  expect_rejected(std::string(), "too short");
  EXPECT_THROW(load_index((dir_ / "missing").string()), std::runtime_error);
}

TEST_F(IndexFile, RejectsValidChecksumsOverInvalidPostings) {
  // Rewrite the doc-indices section with an out-of-range doc and a matching checksum: the structural
  // check must still refuse it (a checksum only proves the bytes were not damaged after saving).
  const fs::path path = dir_ / "x.l0idx";
  save_index(make(), path.string());
  std::string bytes = read_all(path);
  const size_t term_section = 56;
  uint64_t term_len;
  std::memcpy(&term_len, &bytes[term_section + 8], 8);
  const size_t doc_section = term_section + 16 + term_len;
  const uint32_t bad_doc = 1000000;
  std::memcpy(&bytes[doc_section + 16], &bad_doc, 4);
  uint64_t doc_len;
  std::memcpy(&doc_len, &bytes[doc_section + 8], 8);
  const uint32_t crc = crc32(&bytes[doc_section + 16], doc_len);
  std::memcpy(&bytes[doc_section + 4], &crc, 4);
  write_all(path, bytes);
  try {
    load_index(path.string());
    ADD_FAILURE() << "loaded postings naming a missing document";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("names document"), std::string::npos) << e.what();
  }
}
