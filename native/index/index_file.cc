#include "index/index_file.h"

#include "common/file_io.h"
#include "index/crc32.h"

#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace l0sparse::index {
namespace {

static_assert(std::endian::native == std::endian::little, "the index format is little-endian");

constexpr uint32_t kHeaderSize = 80;
constexpr int kSections = 8;
constexpr const char* kSectionNames[kSections] = {"term offsets", "block last doc", "block max", "block offsets",
                                                  "posting data", "term scales",    "id offsets", "id bytes"};

void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
uint64_t padded(uint64_t n) { return (n + 7) / 8 * 8; }

struct Section {
  const void* data;
  uint64_t bytes;
};

void write_section(common::AtomicFileWriter& out, uint32_t tag, const Section& s) {
  uint8_t head[kIndexSectionHeaderSize];
  put32(head, tag);
  put32(head + 4, crc32(s.data, s.bytes));
  put64(head + 8, s.bytes);
  out.write(head, sizeof head);
  out.write(s.data, s.bytes);
  static const uint8_t zeros[8] = {};
  out.write(zeros, padded(s.bytes) - s.bytes);
}

// The sections' lengths as the header implies them.
std::array<uint64_t, kSections> section_lengths(uint64_t cols, uint64_t docs, uint64_t blocks, uint64_t data_bytes,
                                                uint64_t id_bytes, WeightCoding coding) {
  return {(cols + 1) * 8, blocks * 4, blocks * 4, (blocks + 1) * 8, data_bytes,
          coding == WeightCoding::kExactFloat32 ? 0 : cols * 4, (docs + 1) * 8, id_bytes};
}

}  // namespace

void save_index(const InvertedIndex& index, const std::string& path, const SaveOptions& options) {
  if (index.pending_rows() > 0)
    throw std::logic_error("save: " + std::to_string(index.pending_rows()) + " documents were added since the last build(); call build() first");
  OwnedPostings requantized;
  PostingsView p = index.postings();
  const WeightCoding coding = options.coding.value_or(index.coding());
  if (coding != index.coding()) {
    if (index.coding() != WeightCoding::kExactFloat32)
      throw std::invalid_argument(std::string("save: this index holds ") + weight_coding_name(index.coding()) +
                                  " weights and can only be saved as they are");
    requantized = requantize(index, coding, options.per_term_scale, options.threads);
    p = requantized.view();
  }
  index.check_all_terms(options.threads);  // never give unchecked blocks (or ids) a fresh checksum
  index.check_ids();
  const IdsView& ids = index.ids_view();
  const uint64_t cols = static_cast<uint64_t>(p.num_cols), docs = static_cast<uint64_t>(ids.docs);
  const uint64_t id_bytes = ids.offsets[ids.docs];

  uint8_t header[kHeaderSize] = {};
  std::memcpy(header, kIndexMagic, 8);
  put32(header + 8, kIndexFileVersion);
  put32(header + 12, kHeaderSize);
  put64(header + 16, cols);
  put64(header + 24, docs);
  put64(header + 32, static_cast<uint64_t>(p.postings()));
  put64(header + 40, static_cast<uint64_t>(p.blocks));
  put64(header + 48, static_cast<uint64_t>(p.data_bytes));
  put64(header + 56, id_bytes);
  put32(header + 64, static_cast<uint32_t>(kBlockSize));
  header[68] = static_cast<uint8_t>(p.coding);
  put32(header + 72, crc32(header, 72));

  const auto lengths = section_lengths(cols, docs, static_cast<uint64_t>(p.blocks), static_cast<uint64_t>(p.data_bytes), id_bytes, p.coding);
  const Section sections[kSections] = {{p.term_offsets, lengths[0]}, {p.block_last_doc, lengths[1]}, {p.block_max, lengths[2]},
                                       {p.block_offsets, lengths[3]}, {p.data, lengths[4]},          {p.term_scales, lengths[5]},
                                       {ids.offsets, lengths[6]},    {ids.bytes, lengths[7]}};
  common::AtomicFileWriter out(path);
  out.write(header, sizeof header);
  for (int s = 0; s < kSections; ++s) write_section(out, static_cast<uint32_t>(s + 1), sections[s]);
  out.write(kIndexTrailer, sizeof kIndexTrailer);
  out.commit();
}

InvertedIndex load_index(const std::string& path, int threads, Verify verify) {
  auto file = std::make_shared<common::MappedFile>(path);
  const uint8_t* bytes = file->data();
  const uint64_t size = file->size();
  auto corrupt = [&](const std::string& msg) { return std::runtime_error(path + ": corrupt index file: " + msg); };
  if (size < 16) throw std::runtime_error(path + ": not an l0sparse index (file too short)");
  if (std::memcmp(bytes, kIndexMagic, 8) != 0) throw std::runtime_error(path + ": not an l0sparse index (bad magic)");
  const uint32_t version = get32(bytes + 8);
  if (version == 1) return load_index_v1(path, threads);
  if (version != kIndexFileVersion)
    throw std::runtime_error(path + ": index file version " + std::to_string(version) + " is not supported (this build reads versions 1 and " +
                             std::to_string(kIndexFileVersion) + ")");
  if (size < kHeaderSize) throw std::runtime_error(path + ": not an l0sparse index (file too short)");
  if (get32(bytes + 12) != kHeaderSize) throw corrupt("header size " + std::to_string(get32(bytes + 12)));
  if (crc32(bytes, 72) != get32(bytes + 72)) throw corrupt("header checksum mismatch");
  if (get32(bytes + 76) != 0) throw corrupt("non-zero header padding");
  const uint64_t cols = get64(bytes + 16), docs = get64(bytes + 24), postings = get64(bytes + 32), blocks = get64(bytes + 40),
                 data_bytes = get64(bytes + 48), id_bytes = get64(bytes + 56);
  const uint8_t coding_byte = bytes[68];
  if (get32(bytes + 64) != kBlockSize) throw corrupt("block size " + std::to_string(get32(bytes + 64)) + " (this build reads 64)");
  if (coding_byte > static_cast<uint8_t>(WeightCoding::kUint8)) throw corrupt("unknown weight coding " + std::to_string(coding_byte));
  const auto coding = static_cast<WeightCoding>(coding_byte);
  // Bound every count by the file size before multiplying, so no sum can overflow.
  if (cols < 1 || cols > INT32_MAX) throw corrupt("numCols " + std::to_string(cols) + " out of range");
  if (docs > INT32_MAX) throw corrupt("document count " + std::to_string(docs) + " out of range");
  if (postings > size || blocks > size / 8 || data_bytes > size || id_bytes > size || cols > size / 8 || docs > size / 8)
    throw corrupt("the header's counts exceed the file size (" + std::to_string(size) + " bytes)");
  if (blocks > postings || postings > blocks * kBlockSize) throw corrupt("block count does not fit the posting count");
  if (data_bytes < kDataPadding) throw corrupt("posting data shorter than its padding");
  const auto lengths = section_lengths(cols, docs, blocks, data_bytes, id_bytes, coding);
  uint64_t expected = kHeaderSize + sizeof kIndexTrailer;
  for (uint64_t len : lengths) expected += kIndexSectionHeaderSize + padded(len);
  if (expected != size)
    throw corrupt("the header implies " + std::to_string(expected) + " bytes but the file has " + std::to_string(size) +
                  (size < expected ? " (truncated)" : ""));

  const uint8_t* payload[kSections];
  uint64_t at = kHeaderSize;
  for (int s = 0; s < kSections; ++s) {
    const uint8_t* head = bytes + at;
    const std::string name = kSectionNames[s];
    if (get32(head) != static_cast<uint32_t>(s + 1))
      throw corrupt("expected section " + std::to_string(s + 1) + " (" + name + "), found tag " + std::to_string(get32(head)));
    if (get64(head + 8) != lengths[s])
      throw corrupt("section " + name + " is " + std::to_string(get64(head + 8)) + " bytes but the header implies " + std::to_string(lengths[s]));
    payload[s] = head + kIndexSectionHeaderSize;
    // On first use, the block tables and the posting data (sections 2-5, nearly all of the file) are
    // checked term by term instead of by checksum.
    const bool checksummed = verify == Verify::kFull || s == 0 || s >= 5;
    if (checksummed && crc32(payload[s], lengths[s]) != get32(head + 4)) throw corrupt("checksum mismatch in section " + name);
    for (uint64_t j = lengths[s]; j < padded(lengths[s]); ++j)  // no byte of the file goes unchecked
      if (payload[s][j] != 0) throw corrupt("non-zero padding after section " + name);
    at += kIndexSectionHeaderSize + padded(lengths[s]);
  }
  if (std::memcmp(bytes + at, kIndexTrailer, 8) != 0) throw corrupt("bad trailer");

  PostingsView p;
  p.num_cols = static_cast<int64_t>(cols);
  p.blocks = static_cast<int64_t>(blocks);
  p.data_bytes = static_cast<int64_t>(data_bytes);
  p.coding = coding;
  // Every payload starts 8-byte aligned (page-aligned map, 80-byte header, 16-byte section heads, padding).
  p.term_offsets = reinterpret_cast<const uint64_t*>(payload[0]);
  p.block_last_doc = reinterpret_cast<const uint32_t*>(payload[1]);
  p.block_max = reinterpret_cast<const float*>(payload[2]);
  p.block_offsets = reinterpret_cast<const uint64_t*>(payload[3]);
  p.data = payload[4];
  p.term_scales = coding == WeightCoding::kExactFloat32 ? nullptr : reinterpret_cast<const float*>(payload[5]);
  IdsView ids{reinterpret_cast<const uint64_t*>(payload[6]), reinterpret_cast<const char*>(payload[7]), static_cast<int64_t>(docs)};

  if (p.term_offsets[cols] != postings) throw corrupt("term offsets do not span the postings");
  for (uint64_t j = 0; j < kDataPadding; ++j)
    if (p.data[data_bytes - kDataPadding + j] != 0) throw corrupt("posting data padding is not zero");
  if (ids.offsets[0] != 0 || ids.offsets[docs] != id_bytes) throw corrupt("id offsets do not span the id bytes");
  const bool full = verify == Verify::kFull;
  std::unordered_set<std::string_view> seen;
  if (full) seen.reserve(static_cast<size_t>(docs));
  for (uint64_t d = 0; d < docs; ++d) {
    // Checked before each use: a later decrease must not let an earlier offset point past the id bytes.
    if (ids.offsets[d + 1] <= ids.offsets[d] || ids.offsets[d + 1] > id_bytes)
      throw corrupt("id offsets decrease, repeat (an empty id) or leave the id bytes at document " + std::to_string(d));
    if (!full) continue;
    const std::string_view id(ids.bytes + ids.offsets[d], static_cast<size_t>(ids.offsets[d + 1] - ids.offsets[d]));
    if (!seen.insert(id).second) throw corrupt("index postings: duplicate document id '" + std::string(id) + "'");
  }
  try {
    if (full) validate_postings(p, static_cast<int64_t>(docs), threads);
    else validate_tables(p);
  } catch (const std::invalid_argument& e) {
    throw corrupt(e.what());
  }
  return InvertedIndex(p, ids, std::move(file), true, full, full, path);
}

}  // namespace l0sparse::index
