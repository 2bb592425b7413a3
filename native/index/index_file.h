#pragma once
// The on-disk index, little-endian. Version 2 (written by save_index):
//
//   header (80 bytes): magic "L0SPIDX\0" | u32 version (2) | u32 header size (80) | u64 numCols | u64 docs
//                      | u64 postings | u64 blocks | u64 data bytes | u64 id bytes | u32 block size (64)
//                      | u8 weight coding (0 float32, 1 uint16, 2 uint8) | 3 zero bytes
//                      | u32 CRC-32 of the 72 bytes before it | 4 zero bytes
//   8 sections, each   u32 tag | u32 CRC-32 of the payload | u64 payload length | payload | zero padding to 8 bytes
//     1 term offsets   (numCols + 1) x u64   postings of term t are [off[t], off[t+1]); t has ceil(len/64) blocks
//     2 block last doc blocks x u32
//     3 block max      blocks x f32          max weight of the block, as read back
//     4 block offsets  (blocks + 1) x u64    block b = data[off[b], off[b+1])
//     5 posting data   data bytes            the blocks (block_codec.h), then 8 zero bytes
//     6 term scales    numCols x f32 for uint8/uint16 (weight = code x scale), empty for float32
//     7 id offsets     (docs + 1) x u64      id of doc d = id bytes [off[d], off[d+1]) (UTF-8)
//     8 id bytes
//   trailer: magic "L0SPEND\0"
//
// load_index maps the file (mmap, shared pages, nothing copied): the header fixes every section length,
// so the file size is checked first, then each section's tag and length, the per-term tables
// (validate_tables) and the id offsets. Verify::kFull then checks every section's checksum, decodes every
// block once (validate_postings) and checks ids for uniqueness: a pass over the whole file. With
// Verify::kOnFirstUse (the way Lucene opens segments: footers and metadata on open, full checksums only on
// request) opening reads O(numCols + docs) bytes: checksums of the header, term tables and ids only; each
// term's blocks are checked when a search (or save, or build) first reads them, and ids for uniqueness
// when documents are first added. Either way nothing unchecked is ever dereferenced. Version 1 files (flat
// u32 doc / f32 weight arrays) are still read, and converted to blocks on load (always fully verified).
// Saving writes a temp file and renames it (atomic), so a mapped file is never rewritten in place.
#include "index/inverted_index.h"

#include <optional>
#include <string>

namespace l0sparse::index {

inline constexpr uint32_t kIndexFileVersion = 2;
// Shared by every version of the file.
inline constexpr char kIndexMagic[8] = {'L', '0', 'S', 'P', 'I', 'D', 'X', '\0'};
inline constexpr char kIndexTrailer[8] = {'L', '0', 'S', 'P', 'E', 'N', 'D', '\0'};
inline constexpr uint64_t kIndexSectionHeaderSize = 16;

struct SaveOptions {
  // Unset: the index's own coding. A quantized index can only be saved in its own coding.
  std::optional<WeightCoding> coding;
  bool per_term_scale = true;  // quantized codings: one scale per term (else one global scale)
  int threads = 1;
};

enum class Verify { kFull, kOnFirstUse };

void save_index(const InvertedIndex& index, const std::string& path, const SaveOptions& options = {});
InvertedIndex load_index(const std::string& path, int threads = 1, Verify verify = Verify::kFull);

// Version 1, kept for reading old files (and for the tests that make them).
void save_index_v1(const InvertedIndex& index, const std::string& path);
InvertedIndex load_index_v1(const std::string& path, int threads);

}  // namespace l0sparse::index
