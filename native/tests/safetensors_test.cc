// safetensors reader/writer: round trips, and one hand-built malformed file per rule of the format.
#include "model/safetensors.h"

#include "model_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

using namespace l0sparse::model;
using l0sparse::testing::expect_error;
using l0sparse::testing::TempDir;
using l0sparse::testing::write_bytes;

namespace {

// [u64 header length][header][data], exactly as the format lays it out.
std::string file_bytes(const std::string& header, const std::string& data, uint64_t declared_len = UINT64_MAX) {
  uint64_t len = declared_len == UINT64_MAX ? header.size() : declared_len;
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

}  // namespace

TEST(Safetensors, RoundTripKeepsValuesDtypesShapesAndMetadata) {
  TempDir dir;
  at::Tensor a = at::randn({3, 4});
  at::Tensor b = at::arange(10, at::kLong);
  at::Tensor c = at::randn({2, 2}).to(at::kBFloat16);
  at::Tensor empty = at::zeros({0, 5});
  at::Tensor strided = at::randn({4, 6}).t();  // non-contiguous input
  write_safetensors(dir.file("x.safetensors"), {{"a", a}, {"b", b}, {"c", c}, {"empty", empty}, {"t", strided}},
                    {{"format", "pt"}, {"note", "hi"}});
  SafetensorsFile f = read_safetensors(dir.file("x.safetensors"));
  ASSERT_EQ(f.tensors.size(), 5u);
  EXPECT_TRUE(at::equal(f.tensors.at("a"), a));
  EXPECT_TRUE(at::equal(f.tensors.at("b"), b));
  EXPECT_EQ(f.tensors.at("c").scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(f.tensors.at("c"), c));
  EXPECT_EQ(f.tensors.at("empty").sizes(), empty.sizes());
  EXPECT_TRUE(at::equal(f.tensors.at("t"), strided));
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.metadata.at("note"), "hi");
  // The writer leaves no temporary file behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Safetensors, WriterRejectsDuplicateNamesAndMissingDirectory) {
  TempDir dir;
  expect_error([&] { write_safetensors(dir.file("d.safetensors"), {{"a", at::ones({1})}, {"a", at::ones({1})}}); },
               {"'a' given twice"});
  expect_error([&] { write_safetensors(dir.file("no/such/dir.safetensors"), {{"a", at::ones({1})}}); },
               {"cannot create"});
}

TEST(Safetensors, TooShortFile) {
  TempDir dir;
  write_bytes(dir.file("s"), "abc");
  expect_error([&] { read_safetensors(dir.file("s")); }, {dir.file("s"), "too short"});
}

TEST(Safetensors, HeaderLengthBeyondFileIsRejectedWithoutAllocating) {
  TempDir dir;
  // Claims an exabyte-sized header: must fail on the size check, never try to allocate it.
  write_bytes(dir.file("h"), file_bytes("{}", "", uint64_t(1) << 60));
  expect_error([&] { read_safetensors(dir.file("h")); }, {"header length", "goes beyond the file"});
  write_bytes(dir.file("h2"), file_bytes("{}", "", 3));
  expect_error([&] { read_safetensors(dir.file("h2")); }, {"goes beyond the file"});
}

TEST(Safetensors, BadJson) {
  TempDir dir;
  write_bytes(dir.file("j"), file_bytes("{\"a\": {\"dtype\": \"F32\",", ""));
  expect_error([&] { read_safetensors(dir.file("j")); }, {"invalid JSON"});
  write_bytes(dir.file("arr"), file_bytes("[1,2]", ""));
  expect_error([&] { read_safetensors(dir.file("arr")); }, {"must be a JSON object"});
}

TEST(Safetensors, UnknownDtype) {
  TempDir dir;
  write_bytes(dir.file("d"), file_bytes(R"({"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", floats({1})));
  expect_error([&] { read_safetensors(dir.file("d")); }, {"tensor 'w'", "unknown or unsupported dtype \"F99\""});
}

TEST(Safetensors, ShapeTimesDtypeMustEqualBytes) {
  TempDir dir;
  write_bytes(dir.file("s"), file_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", floats({1, 2, 3})));
  expect_error([&] { read_safetensors(dir.file("s")); }, {"tensor 'w'", "needs 16 bytes", "span 12"});
}

TEST(Safetensors, OffsetsOutOfRange) {
  TempDir dir;
  write_bytes(dir.file("o"), file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", floats({1, 2})));
  expect_error([&] { read_safetensors(dir.file("o")); }, {"tensor 'w'", "beyond the data buffer"});
  write_bytes(dir.file("r"), file_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", floats({1, 2})));
  expect_error([&] { read_safetensors(dir.file("r")); }, {"begin > end"});
  write_bytes(dir.file("n"), file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", floats({1})));
  expect_error([&] { read_safetensors(dir.file("n")); }, {"non-negative"});
}

TEST(Safetensors, OverlappingTensors) {
  TempDir dir;
  write_bytes(dir.file("o"),
              file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         floats({1, 2, 3})));
  expect_error([&] { read_safetensors(dir.file("o")); }, {"tensor 'b'", "overlaps tensor 'a'"});
}

TEST(Safetensors, HolesAndTrailingBytesAreRejected) {
  TempDir dir;
  write_bytes(dir.file("hole"),
              file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                         floats({1, 2, 3})));
  expect_error([&] { read_safetensors(dir.file("hole")); }, {"bytes [4, 8)", "belong to no tensor"});
  write_bytes(dir.file("tail"), file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1, 2})));
  expect_error([&] { read_safetensors(dir.file("tail")); }, {"bytes [4, 8)", "belong to no tensor"});
}

TEST(Safetensors, UnexpectedFieldsAndBadMetadata) {
  TempDir dir;
  write_bytes(dir.file("f"), file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", floats({1})));
  expect_error([&] { read_safetensors(dir.file("f")); }, {"unexpected header field \"x\""});
  write_bytes(dir.file("m"), file_bytes(R"({"__metadata__":{"format":3}})", ""));
  expect_error([&] { read_safetensors(dir.file("m")); }, {"__metadata__", "must be a string"});
}

TEST(Safetensors, MissingFileNamesThePath) {
  expect_error([] { read_safetensors("/nonexistent/l0sparse/x.safetensors"); }, {"/nonexistent/l0sparse/x.safetensors", "cannot open"});
}

TEST(Safetensors, ShardedCheckpointThroughIndex) {
  TempDir dir;
  at::Tensor a = at::randn({2, 3}), b = at::randn({4});
  write_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"a", a}});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"b", b}});
  write_bytes(dir.file("model.safetensors.index.json"),
              R"({"metadata":{"total_size":40},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  TensorMap all = read_checkpoint_dir(dir.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(at::equal(all.at("a"), a));
  EXPECT_TRUE(at::equal(all.at("b"), b));
}

TEST(Safetensors, ShardedIndexErrors) {
  TempDir dir;
  write_safetensors(dir.file("s1.safetensors"), {{"a", at::ones({1})}, {"extra", at::ones({1})}});
  std::string index = dir.file("model.safetensors.index.json");
  write_bytes(index, R"({"weight_map":{"a":"s1.safetensors"}})");
  expect_error([&] { read_checkpoint_dir(dir.path()); }, {"'extra'", "does not assign"});
  write_bytes(index, R"({"weight_map":{"a":"s1.safetensors","extra":"s1.safetensors","b":"s1.safetensors"}})");
  expect_error([&] { read_checkpoint_dir(dir.path()); }, {"tensor 'b' is not in its shard s1.safetensors"});
  write_bytes(index, R"({"weight_map":{"a":"../s1.safetensors"}})");
  expect_error([&] { read_checkpoint_dir(dir.path()); }, {"plain file name"});
  write_bytes(index, R"({"weight_map":{"a":"missing.safetensors"}})");
  expect_error([&] { read_checkpoint_dir(dir.path()); }, {"shard missing.safetensors is missing"});
  write_bytes(index, R"({"weight_map":{}})");
  expect_error([&] { read_checkpoint_dir(dir.path()); }, {"non-empty"});
  TempDir empty;
  expect_error([&] { read_checkpoint_dir(empty.path()); }, {"no model.safetensors"});
}

TEST(Safetensors, CorruptedHeadersFailCleanlyNeverCrash) {
  TempDir dir;
  std::string good_path = dir.file("good.safetensors");
  write_safetensors(good_path, {{"a", at::randn({3, 5})}, {"b", at::arange(7, at::kInt)}, {"c", at::randn({2}).to(at::kHalf)}});
  std::ifstream in(good_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  // Deterministic single- and multi-byte corruptions of the length field and the JSON header: each one
  // must either still parse (e.g. a changed digit that stays consistent) or raise c10::Error.
  std::mt19937 gen(1234);
  int rejected = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bad = bytes;
    int edits = 1 + trial % 3;
    for (int e = 0; e < edits; ++e) {
      size_t pos = std::uniform_int_distribution<size_t>(0, 8 + header_len - 1)(gen);
      bad[pos] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(gen));
    }
    write_bytes(dir.file("bad.safetensors"), bad);
    try {
      read_safetensors(dir.file("bad.safetensors"));
    } catch (const c10::Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 300);  // nearly every corruption is caught by the structural checks
}
