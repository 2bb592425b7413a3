#pragma once
// The on-disk index (version 1), little-endian:
//
//   header (56 bytes): magic "L0SPIDX\0" | u32 version | u32 header size | u64 numCols | u64 docs | u64 postings
//                      | u64 id bytes | u32 block size (informative) | u32 CRC-32 of the 52 bytes before it
//   5 sections, each   u32 tag | u32 CRC-32 of the payload | u64 payload length | payload
//     1 term offsets   (numCols + 1) x u64      postings of term t are [off[t], off[t+1])
//     2 doc indices    postings x u32           increasing within a term
//     3 weights        postings x f32           finite, > 0
//     4 id offsets     (docs + 1) x u64         id of doc d = id bytes [off[d], off[d+1]) (UTF-8)
//     5 id bytes       id bytes
//   trailer: magic "L0SPEND\0"
//
// The header fixes every section length, so a load checks the file size before allocating anything;
// then each section's tag, length and checksum, then the postings' structure. Block maxima are derived
// on load, not stored. Saving writes a temp file and renames it (atomic).
#include "index/inverted_index.h"

#include <string>

namespace l0sparse::index {

inline constexpr uint32_t kIndexFileVersion = 1;

void save_index(const InvertedIndex& index, const std::string& path);
InvertedIndex load_index(const std::string& path);

}  // namespace l0sparse::index
