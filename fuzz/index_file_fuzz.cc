// libFuzzer target: the on-disk index loader (native/index/index_file.cc) and, for every file it accepts,
// a search over the loaded postings. The first input byte selects a mode:
//   even: the bytes are loaded as they are (checksums usually catch the mutation);
//   odd:  the header CRC and every section CRC that lies inside the file are recomputed first, so that
//         mutations reach the structural checks (term offsets, doc order, weights, ids) behind them;
//   bit 1 set: the file is opened with its terms checked on first use (Verify::kOnFirstUse), so the
//         search itself meets the damage and must refuse it.
// A rejected file must raise std::exception; anything else (a crash, ASan/UBSan report, abort) is a bug.
#include "fuzz/fuzz_util.h"
#include "index/batch_search.h"
#include "index/crc32.h"
#include "index/index_file.h"

#include <cstring>
#include <exception>
#include <vector>

using namespace l0sparse;

namespace {

// The v2 layout (index_file.h): 80-byte header with its CRC at 72, sections padded to 8 bytes.
// Version-1 files (56-byte header, CRC at 52, unpadded sections) are fixed their own way.
void fix_checksums(std::vector<uint8_t>& b) {
  if (b.size() < 16) return;
  uint32_t version = 0;
  std::memcpy(&version, b.data() + 8, 4);
  const bool v1 = version == 1;
  const uint64_t header = v1 ? 56 : 80, crc_at = v1 ? 52 : 72;
  if (b.size() < header) return;
  const uint32_t header_crc = index::crc32(b.data(), crc_at);
  std::memcpy(b.data() + crc_at, &header_crc, 4);
  uint64_t off = header;
  while (off + 16 <= b.size()) {
    uint64_t len = 0;
    std::memcpy(&len, b.data() + off + 8, 8);
    if (len > b.size() - off - 16) break;
    const uint32_t crc = index::crc32(b.data() + off + 16, static_cast<size_t>(len));
    std::memcpy(b.data() + off + 4, &crc, 4);
    off += 16 + (v1 ? len : (len + 7) / 8 * 8);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> bytes(data + 1, data + size);
  if (data[0] & 1) fix_checksums(bytes);
  const std::string& path = fuzz::scratch_path("index");
  fuzz::write_file(path, bytes.data(), bytes.size());
  try {
    // Bit 1 of the first byte: open with terms checked on first use (a search must then refuse a damaged
    // term, never read it).
    const auto verify = (data[0] & 2) ? index::Verify::kOnFirstUse : index::Verify::kFull;
    index::InvertedIndex loaded = index::load_index(path, 1, verify);
    // Accepted: the postings must be searchable. One query over the first (up to) 8 terms.
    const int64_t cols = loaded.num_cols();
    std::vector<int32_t> indptr = {0, 0}, indices;
    std::vector<float> values;
    for (int64_t t = 0; t < cols && t < 8; ++t) {
      indices.push_back(static_cast<int32_t>(t));
      values.push_back(1.0f + static_cast<float>(t));
    }
    indptr[1] = static_cast<int32_t>(indices.size());
    index::CsrView q{indptr.data(), indices.data(), values.data(), 1, cols};
    const int64_t k = 3;
    std::vector<int32_t> docs(k);
    std::vector<float> scores(k);
    for (auto algo : {index::SearchAlgorithm::kExhaustive, index::SearchAlgorithm::kMaxScore}) {
      index::search_batch(loaded, q, k, 1, docs.data(), scores.data(), algo);
      for (int32_t d : docs) {
        if (d != index::kNoDoc && (d < 0 || d >= loaded.num_docs())) abort();  // a result outside the index
        if (d != index::kNoDoc) (void)loaded.id(d);
      }
    }
  } catch (const std::exception&) {
    // rejected with a message: fine
  }
  return 0;
}
