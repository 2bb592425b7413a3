// Version 1 of the index file (see git history for its layout: a 56-byte header, then flat term offsets,
// u32 doc indices, f32 weights, id offsets and id bytes). Read for old files, converted to blocks on load;
// written only by the tests that check that conversion.
#include "index/index_file.h"

#include "common/file_io.h"
#include "index/crc32.h"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace l0sparse::index {
namespace {

static_assert(std::endian::native == std::endian::little, "the index format is little-endian");

constexpr uint32_t kVersion1 = 1;
constexpr uint32_t kHeaderSize = 56;

enum SectionTag : uint32_t { kTermOffsets = 1, kDocIndices = 2, kWeights = 3, kIdOffsets = 4, kIdBytes = 5 };

struct Header {
  uint64_t num_cols = 0, docs = 0, postings = 0, id_bytes = 0;
  uint32_t block_size = 0;
};

void put32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

void write_section(common::AtomicFileWriter& out, uint32_t tag, const void* data, uint64_t bytes) {
  char head[kIndexSectionHeaderSize];
  put32(head, tag);
  put32(head + 4, crc32(data, bytes));
  put64(head + 8, bytes);
  out.write(head, sizeof head);
  out.write(data, bytes);
}

// Reads a section whose length the header already fixed; `count` elements of T.
template <typename T>
std::vector<T> read_section(common::FileReader& in, uint32_t tag, uint64_t count, const char* name, const std::string& path) {
  char head[kIndexSectionHeaderSize];
  in.read(head, sizeof head, std::string(name) + " section header");
  if (get32(head) != tag)
    throw std::runtime_error(path + ": corrupt index file: expected section " + std::to_string(tag) + " (" + name + "), found tag " +
                             std::to_string(get32(head)));
  if (get64(head + 8) != count * sizeof(T))
    throw std::runtime_error(path + ": corrupt index file: section " + name + " is " + std::to_string(get64(head + 8)) +
                             " bytes but the header implies " + std::to_string(count * sizeof(T)));
  std::vector<T> data(static_cast<size_t>(count));
  in.read(data.data(), count * sizeof(T), name);
  if (crc32(data.data(), count * sizeof(T)) != get32(head + 4))
    throw std::runtime_error(path + ": corrupt index file: checksum mismatch in section " + name);
  return data;
}

}  // namespace

void save_index_v1(const InvertedIndex& index, const std::string& path) {
  if (index.pending_rows() > 0)
    throw std::logic_error("save: " + std::to_string(index.pending_rows()) + " documents were added since the last build(); call build() first");
  const IdsView& ids = index.ids_view();
  const std::vector<uint64_t> id_offsets(ids.offsets, ids.offsets + ids.docs + 1);
  const std::string id_bytes(ids.bytes, ids.offsets[ids.docs]);
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> doc_ids;
  std::vector<float> weights;
  index.decode_all(offsets, doc_ids, weights);

  char header[kHeaderSize] = {};
  std::memcpy(header, kIndexMagic, 8);
  put32(header + 8, kVersion1);
  put32(header + 12, kHeaderSize);
  put64(header + 16, static_cast<uint64_t>(index.num_cols()));
  put64(header + 24, static_cast<uint64_t>(ids.docs));
  put64(header + 32, doc_ids.size());
  put64(header + 40, id_bytes.size());
  put32(header + 48, 64);
  put32(header + 52, crc32(header, 52));

  common::AtomicFileWriter out(path);
  out.write(header, sizeof header);
  write_section(out, kTermOffsets, offsets.data(), offsets.size() * sizeof(uint64_t));
  write_section(out, kDocIndices, doc_ids.data(), doc_ids.size() * sizeof(uint32_t));
  write_section(out, kWeights, weights.data(), weights.size() * sizeof(float));
  write_section(out, kIdOffsets, id_offsets.data(), id_offsets.size() * sizeof(uint64_t));
  write_section(out, kIdBytes, id_bytes.data(), id_bytes.size());
  out.write(kIndexTrailer, sizeof kIndexTrailer);
  out.commit();
}

InvertedIndex load_index_v1(const std::string& path, int threads) {
  common::FileReader in(path);
  auto corrupt = [&](const std::string& msg) { return std::runtime_error(path + ": corrupt index file: " + msg); };
  char header[kHeaderSize];
  if (in.size() < kHeaderSize || in.size() < 8) throw std::runtime_error(path + ": not an l0sparse index (file too short)");
  in.read(header, kHeaderSize, "header");
  if (std::memcmp(header, kIndexMagic, 8) != 0) throw std::runtime_error(path + ": not an l0sparse index (bad magic)");
  const uint32_t version = get32(header + 8);
  if (version != kVersion1)
    throw std::runtime_error(path + ": index file version " + std::to_string(version) + " is not supported (this build reads version " +
                             std::to_string(kVersion1) + ")");
  if (get32(header + 12) != kHeaderSize) throw corrupt("header size " + std::to_string(get32(header + 12)));
  if (crc32(header, 52) != get32(header + 52)) throw corrupt("header checksum mismatch");
  Header h;
  h.num_cols = get64(header + 16);
  h.docs = get64(header + 24);
  h.postings = get64(header + 32);
  h.id_bytes = get64(header + 40);
  // Bound every count by the file size before multiplying, so no sum can overflow and no allocation can
  // exceed what the file actually holds.
  const uint64_t size = in.size();
  if (h.num_cols < 1 || h.num_cols > INT32_MAX) throw corrupt("numCols " + std::to_string(h.num_cols) + " out of range");
  if (h.docs > INT32_MAX) throw corrupt("document count " + std::to_string(h.docs) + " out of range");
  if (h.postings > size / 8 || h.id_bytes > size || h.num_cols > size / 8 || h.docs > size / 8)
    throw corrupt("the header's counts exceed the file size (" + std::to_string(size) + " bytes)");
  const uint64_t expected = kHeaderSize + 5 * kIndexSectionHeaderSize + (h.num_cols + 1) * 8 + h.postings * 8 + (h.docs + 1) * 8 +
                            h.id_bytes + sizeof kIndexTrailer;
  if (expected != size)
    throw corrupt("the header implies " + std::to_string(expected) + " bytes but the file has " + std::to_string(size) +
                  (size < expected ? " (truncated)" : ""));

  auto term_offsets = read_section<uint64_t>(in, kTermOffsets, h.num_cols + 1, "term offsets", path);
  auto doc_ids = read_section<uint32_t>(in, kDocIndices, h.postings, "doc indices", path);
  auto weights = read_section<float>(in, kWeights, h.postings, "weights", path);
  auto id_offsets = read_section<uint64_t>(in, kIdOffsets, h.docs + 1, "id offsets", path);
  auto id_bytes = read_section<char>(in, kIdBytes, h.id_bytes, "id bytes", path);
  char trailer[8];
  in.read(trailer, 8, "trailer");
  if (std::memcmp(trailer, kIndexTrailer, 8) != 0) throw corrupt("bad trailer");

  if (id_offsets[0] != 0 || id_offsets[h.docs] != h.id_bytes) throw corrupt("id offsets do not span the id bytes");
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(h.docs));
  for (uint64_t d = 0; d < h.docs; ++d) {
    // Checked before each use: a later decrease must not let an earlier offset point past the id bytes.
    if (id_offsets[d + 1] < id_offsets[d] || id_offsets[d + 1] > h.id_bytes)
      throw corrupt("id offsets decrease or leave the id bytes at document " + std::to_string(d));
    ids.emplace_back(id_bytes.data() + id_offsets[d], id_offsets[d + 1] - id_offsets[d]);
  }
  try {
    return index_from_postings(static_cast<int64_t>(h.num_cols), std::move(ids), std::move(term_offsets), std::move(doc_ids),
                               std::move(weights), threads);
  } catch (const std::invalid_argument& e) {
    throw corrupt(e.what());
  }
}

}  // namespace l0sparse::index
