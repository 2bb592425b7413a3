#pragma once
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the checksum of zlib, PNG and Node's zlib.crc32,
// so the TypeScript side can check the same sections.
#include <cstddef>
#include <cstdint>

namespace l0sparse::index {

// Continues a running CRC: crc32(data2, n2, crc32(data1, n1)) == crc32 of the concatenation.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace l0sparse::index
