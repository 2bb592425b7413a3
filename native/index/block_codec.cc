#include "index/block_codec.h"

#include <algorithm>

namespace l0sparse::index {
namespace {

// Packs n values of `bits` bits into out (zero-filled first, since values are OR-ed in).
int64_t pack(const uint32_t* values, int64_t n, int bits, uint8_t* out) {
  const int64_t bytes = packed_bytes(n, bits);
  std::fill(out, out + bytes, uint8_t{0});
  for (int64_t i = 0, bit = 0; i < n; ++i, bit += bits) {
    uint64_t v = static_cast<uint64_t>(values[i]) << (bit & 7);
    for (int64_t byte = bit >> 3; v != 0; ++byte, v >>= 8) out[byte] |= static_cast<uint8_t>(v & 0xFF);
  }
  return bytes;
}

}  // namespace

const char* weight_coding_name(WeightCoding c) {
  switch (c) {
    case WeightCoding::kExactFloat32: return "float32";
    case WeightCoding::kUint16: return "uint16";
    case WeightCoding::kUint8: return "uint8";
  }
  return "unknown";
}

int64_t encode_block(const uint32_t* docs, const uint32_t* codes, int64_t n, int64_t prev_last, uint8_t* out) {
  uint32_t gaps[kBlockSize], deltas[kBlockSize];
  uint32_t max_gap = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t before = i == 0 ? prev_last : static_cast<int64_t>(docs[i - 1]);
    gaps[i] = static_cast<uint32_t>(static_cast<int64_t>(docs[i]) - before - 1);
    max_gap = std::max(max_gap, gaps[i]);
  }
  const uint32_t base = *std::min_element(codes, codes + n);
  uint32_t max_delta = 0, any_bits = 0;
  for (int64_t i = 0; i < n; ++i) {
    deltas[i] = codes[i] - base;
    max_delta = std::max(max_delta, deltas[i]);
    any_bits |= deltas[i];
  }
  const int shift = any_bits == 0 ? 0 : __builtin_ctz(any_bits);
  for (int64_t i = 0; i < n; ++i) deltas[i] >>= shift;
  const int doc_bits = bits_for(max_gap), weight_bits = bits_for(max_delta >> shift);
  out[0] = static_cast<uint8_t>(doc_bits);
  out[1] = static_cast<uint8_t>(weight_bits);
  out[2] = static_cast<uint8_t>(shift);
  std::memcpy(out + 3, &base, 4);
  int64_t at = kBlockHeaderBytes;
  at += pack(gaps, n, doc_bits, out + at);
  at += pack(deltas, n, weight_bits, out + at);
  return at;
}

}  // namespace l0sparse::index
