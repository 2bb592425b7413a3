#pragma once
// One block of postings (at most kBlockSize documents of one term) as bytes, the PISA / Lucene way:
// frame-of-reference + bit packing, one bit width per block.
//
//   u8 doc bits | u8 weight bits | u8 weight shift | u32 weight base | doc values (n x doc bits)
//   | weight values (n x weight bits)
//
// Doc values: the first is first_doc - (previous block's last doc + 1) (the first block of a term counts
// from -1, so it stores the doc itself); the others are gap - 1. Docs therefore increase strictly by
// construction. Weight values are code - base, where code is the weight's float32 bit pattern (exact
// mode: for positive floats the bit patterns are ordered like the values, so a block whose weights lie
// within a factor 2-4 needs 24-25 bits instead of 32, still exact) or a quantized impact (uint8/uint16).
// Trailing zero bits common to all of a block's code - base values are shifted out (weight shift), so
// weights that carry fewer mantissa bits (bf16 / fp16 model outputs, Lucene's 9-bit FeatureField
// values) cost only the bits they have: code = base + (value << shift).
// Each value group is padded to whole bytes. Readers need 8 readable bytes past the end of any block
// (the posting data carries that padding) so every value is one unaligned 64-bit load.
#include <cstdint>
#include <cstring>

namespace l0sparse::index {

inline constexpr int64_t kBlockSize = 64;
inline constexpr int64_t kBlockHeaderBytes = 7;
inline constexpr int64_t kDataPadding = 8;

enum class WeightCoding : uint8_t {
  kExactFloat32 = 0,  // the float32 bits, frame-of-reference coded: scores are exact
  kUint16 = 1,        // impact = max(1, round(w / scale)) <= 65535, weight read back as impact * scale
  kUint8 = 2,         // the same with <= 255
};

inline uint32_t max_code(WeightCoding c) {
  return c == WeightCoding::kUint8 ? 255u : c == WeightCoding::kUint16 ? 65535u : 0x7F7FFFFFu;  // largest finite float
}
const char* weight_coding_name(WeightCoding c);

inline int64_t packed_bytes(int64_t n, int bits) { return (n * bits + 7) / 8; }
inline int64_t block_bytes(int64_t n, int doc_bits, int weight_bits) {
  return kBlockHeaderBytes + packed_bytes(n, doc_bits) + packed_bytes(n, weight_bits);
}
// Bits needed for values up to v (0 for v == 0).
inline int bits_for(uint32_t v) { return v == 0 ? 0 : 32 - __builtin_clz(v); }

// Unpacks n values of `bits` (<= 32) bits each from `in` (little-endian bit order).
inline void unpack(const uint8_t* in, int64_t n, int bits, uint32_t* out) {
  if (bits == 0) {
    for (int64_t i = 0; i < n; ++i) out[i] = 0;
    return;
  }
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (int64_t i = 0, bit = 0; i < n; ++i, bit += bits) {
    uint64_t word;
    std::memcpy(&word, in + (bit >> 3), 8);
    out[i] = static_cast<uint32_t>((word >> (bit & 7)) & mask);
  }
}

struct BlockHeader {
  int doc_bits, weight_bits, weight_shift;
  uint32_t weight_base;
};
inline BlockHeader read_block_header(const uint8_t* block) {
  BlockHeader h{block[0], block[1], block[2], 0};
  std::memcpy(&h.weight_base, block + 3, 4);
  return h;
}

// Decodes the docs of a block: prev_last is the previous block's last doc, or -1 for a term's first block.
inline void decode_block_docs(const uint8_t* block, const BlockHeader& h, int64_t n, int64_t prev_last, uint32_t* docs) {
  unpack(block + kBlockHeaderBytes, n, h.doc_bits, docs);
  int64_t doc = prev_last;
  for (int64_t i = 0; i < n; ++i) {
    doc += static_cast<int64_t>(docs[i]) + 1;
    docs[i] = static_cast<uint32_t>(doc);
  }
}

// Decodes the weight codes of a block (shift and base applied). The header must be valid (shift < 32).
inline void decode_block_codes(const uint8_t* block, const BlockHeader& h, int64_t n, uint32_t* codes) {
  unpack(block + kBlockHeaderBytes + packed_bytes(n, h.doc_bits), n, h.weight_bits, codes);
  for (int64_t i = 0; i < n; ++i) codes[i] = h.weight_base + (codes[i] << h.weight_shift);
}

inline float code_to_weight(uint32_t code, WeightCoding coding, float scale) {
  if (coding == WeightCoding::kExactFloat32) {
    float w;
    std::memcpy(&w, &code, 4);
    return w;
  }
  return static_cast<float>(code) * scale;
}

// Appends one encoded block to `out` (n in [1, kBlockSize], docs strictly increasing and > prev_last,
// codes >= 1). Returns the number of bytes written.
int64_t encode_block(const uint32_t* docs, const uint32_t* codes, int64_t n, int64_t prev_last, uint8_t* out);
// Upper bound of encode_block's output for n postings.
inline int64_t max_block_bytes(int64_t n) { return block_bytes(n, 32, 32); }

}  // namespace l0sparse::index
