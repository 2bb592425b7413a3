#pragma once
// Compressed postings of all terms: blocks of kBlockSize postings (block_codec.h) with, per block, its
// last doc and max weight kept uncompressed beside the data so that search can skip and bound whole
// blocks without decoding them. The arrays are either owned (OwnedPostings, after a build) or views into
// a memory-mapped index file (index_file.h): search code only sees PostingsView.
#include "index/block_codec.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace l0sparse::index {

// An allocator whose resize() leaves new bytes unwritten: the pages of a large buffer become resident only
// as they are filled, so a build that releases its per-term buffers while it copies them into the final
// array does not hold both whole at once.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using PostingBytes = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

struct PostingsView {
  int64_t num_cols = 0;
  int64_t blocks = 0;
  int64_t data_bytes = 0;                   // including kDataPadding trailing zero bytes
  WeightCoding coding = WeightCoding::kExactFloat32;
  const uint64_t* term_offsets = nullptr;   // num_cols + 1: postings of term t are [off[t], off[t+1])
  const uint32_t* block_last_doc = nullptr; // blocks
  const float* block_max = nullptr;         // blocks: max weight of the block (as read back)
  const uint64_t* block_offsets = nullptr;  // blocks + 1: block b is data[off[b], off[b+1])
  const uint8_t* data = nullptr;
  const float* term_scales = nullptr;       // num_cols for quantized codings (weight = code * scale), else null

  int64_t postings() const { return static_cast<int64_t>(term_offsets[num_cols]); }
  float scale(int64_t t) const { return term_scales ? term_scales[t] : 1.0f; }
};

struct OwnedPostings {
  int64_t num_cols = 0;
  WeightCoding coding = WeightCoding::kExactFloat32;
  std::vector<uint64_t> term_offsets;
  std::vector<uint32_t> block_last_doc;
  std::vector<float> block_max;
  std::vector<uint64_t> block_offsets;
  PostingBytes data;  // written whole by the builders: no zero fill first
  std::vector<float> term_scales;

  explicit OwnedPostings(int64_t cols = 0);  // an empty index of `cols` terms
  PostingsView view() const;
};

// First block of each term (num_cols + 1 entries): term t has ceil(len / kBlockSize) blocks.
std::vector<int64_t> block_starts(const uint64_t* term_offsets, int64_t num_cols);

// Splits terms [0, num_cols) into `chunks` contiguous ranges of similar posting counts (offsets: the
// count prefix, num_cols + 1 entries): range c is [bounds[c], bounds[c+1]).
std::vector<int64_t> balanced_term_bounds(const uint64_t* offsets, int64_t num_cols, int64_t chunks);

// Fills docs (strictly increasing) and codes (>= 1, <= max_code) of one term; both arrive empty.
using TermSource = std::function<void(int64_t term, std::vector<uint32_t>& docs, std::vector<uint32_t>& codes)>;
// Encodes every term on `threads` threads (terms split into chunks of similar posting counts).
// term_offsets: the posting count prefix the source will produce. term_scales: empty for exact coding.
OwnedPostings encode_postings(std::vector<uint64_t> term_offsets, WeightCoding coding, std::vector<float> term_scales,
                              int threads, const TermSource& source);

// Appends the docs and weights of term t (block_start = block_starts(...)[t]).
void decode_term(const PostingsView& p, int64_t t, int64_t block_start, std::vector<uint32_t>& docs,
                 std::vector<float>& weights);

// Checks everything a reader relies on, decoding every block: offsets monotone and consistent with the
// block sizes, bit widths <= 32, docs < num_docs and equal to block_last_doc at each block end, codes
// valid for the coding (exact: finite > 0 floats), block_max equal to the decoded max, scales finite > 0.
// Throws std::invalid_argument naming the first violation. Runs on `threads` threads.
// = validate_tables + validate_term for every term.
void validate_postings(const PostingsView& p, int64_t num_docs, int threads);

// The checks that touch only the per-term tables (O(numCols)): term offsets start at 0 and never
// decrease, they imply the file's block count, block offsets span the data, scales finite > 0. After
// them, block_starts() and every table index a term implies are in bounds.
void validate_tables(const PostingsView& p);
// The checks of one term's blocks (its block table entries and data), decoding them once. Needs
// validate_tables to have passed. block_start = block_starts(...)[t].
void validate_term(const PostingsView& p, int64_t t, int64_t block_start, int64_t num_docs);

// Runs fn(begin, end) over [0, n) split into about `chunks` contiguous ranges on up to `threads` threads;
// rethrows the first exception.
void parallel_ranges(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace l0sparse::index
