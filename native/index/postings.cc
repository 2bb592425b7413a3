#include "index/postings.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace l0sparse::index {

OwnedPostings::OwnedPostings(int64_t cols)
    : num_cols(cols), term_offsets(static_cast<size_t>(cols) + 1, 0), block_offsets(1, 0), data(kDataPadding, 0) {}

PostingsView OwnedPostings::view() const {
  PostingsView v;
  v.num_cols = num_cols;
  v.blocks = static_cast<int64_t>(block_last_doc.size());
  v.data_bytes = static_cast<int64_t>(data.size());
  v.coding = coding;
  v.term_offsets = term_offsets.data();
  v.block_last_doc = block_last_doc.data();
  v.block_max = block_max.data();
  v.block_offsets = block_offsets.data();
  v.data = data.data();
  v.term_scales = term_scales.empty() ? nullptr : term_scales.data();
  return v;
}

std::vector<int64_t> block_starts(const uint64_t* term_offsets, int64_t num_cols) {
  std::vector<int64_t> starts(static_cast<size_t>(num_cols) + 1, 0);
  for (int64_t t = 0; t < num_cols; ++t) {
    const auto len = static_cast<int64_t>(term_offsets[t + 1] - term_offsets[t]);
    starts[t + 1] = starts[t] + (len + kBlockSize - 1) / kBlockSize;
  }
  return starts;
}

void parallel_ranges(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (threads == 1) {
    fn(0, n);
    return;
  }
  // More chunks than threads so that uneven chunks even out; workers take them in order.
  const int64_t chunks = std::min<int64_t>(n, int64_t{threads} * 8);
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&]() {
    try {
      for (int64_t c = next++; c < chunks; c = next++) fn(n * c / chunks, n * (c + 1) / chunks);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = chunks;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

std::vector<int64_t> balanced_term_bounds(const uint64_t* offsets, int64_t num_cols, int64_t chunks) {
  // Chunk c ends at the first term past c/chunks of the postings.
  const uint64_t total = offsets[num_cols];
  std::vector<int64_t> bounds(static_cast<size_t>(chunks) + 1, num_cols);
  bounds[0] = 0;
  for (int64_t c = 1; c < chunks; ++c) {
    const uint64_t target = total / static_cast<uint64_t>(chunks) * static_cast<uint64_t>(c);
    bounds[c] = std::upper_bound(offsets, offsets + num_cols, target) - offsets;
    bounds[c] = std::max(bounds[c], bounds[c - 1]);
  }
  return bounds;
}

namespace {

struct EncodedChunk {
  std::vector<uint32_t> last_doc;
  std::vector<float> max;
  std::vector<uint64_t> sizes;
  std::vector<uint8_t> data;
};

}  // namespace

OwnedPostings encode_postings(std::vector<uint64_t> term_offsets, WeightCoding coding, std::vector<float> term_scales,
                              int threads, const TermSource& source) {
  const auto num_cols = static_cast<int64_t>(term_offsets.size()) - 1;
  OwnedPostings out(num_cols);
  out.coding = coding;
  out.term_offsets = std::move(term_offsets);
  out.term_scales = std::move(term_scales);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(num_cols, int64_t{std::max(threads, 1)} * 8));
  const std::vector<int64_t> bounds = balanced_term_bounds(out.term_offsets.data(), num_cols, chunks);
  std::vector<EncodedChunk> encoded(static_cast<size_t>(chunks));
  parallel_ranges(chunks, threads, [&](int64_t c_begin, int64_t c_end) {
    std::vector<uint32_t> docs, codes;
    for (int64_t c = c_begin; c < c_end; ++c) {
      EncodedChunk& ch = encoded[c];
      const uint64_t chunk_postings = out.term_offsets[bounds[c + 1]] - out.term_offsets[bounds[c]];
      ch.data.reserve(static_cast<size_t>(chunk_postings * 5 + 64));  // one growth at most for exact weights
      for (int64_t t = bounds[c]; t < bounds[c + 1]; ++t) {
        docs.clear();
        codes.clear();
        source(t, docs, codes);
        const auto n = static_cast<int64_t>(docs.size());
        if (n != static_cast<int64_t>(out.term_offsets[t + 1] - out.term_offsets[t]) || codes.size() != docs.size())
          throw std::logic_error("encode_postings: term " + std::to_string(t) + " produced a different posting count");
        const float scale = out.term_scales.empty() ? 1.0f : out.term_scales[t];
        for (int64_t start = 0; start < n; start += kBlockSize) {
          const int64_t len = std::min(kBlockSize, n - start);
          const size_t at = ch.data.size();
          ch.data.resize(at + static_cast<size_t>(max_block_bytes(len)));
          const int64_t prev_last = start == 0 ? -1 : static_cast<int64_t>(docs[start - 1]);
          const int64_t bytes = encode_block(docs.data() + start, codes.data() + start, len, prev_last, ch.data.data() + at);
          ch.data.resize(at + static_cast<size_t>(bytes));
          ch.sizes.push_back(static_cast<uint64_t>(bytes));
          ch.last_doc.push_back(docs[start + len - 1]);
          const uint32_t top = *std::max_element(codes.begin() + start, codes.begin() + start + len);
          ch.max.push_back(code_to_weight(top, coding, scale));
        }
      }
    }
  });
  size_t blocks = 0, bytes = 0;
  for (const auto& ch : encoded) {
    blocks += ch.sizes.size();
    bytes += ch.data.size();
  }
  out.block_last_doc.reserve(blocks);
  out.block_max.reserve(blocks);
  out.block_offsets.reserve(blocks + 1);
  out.data.resize(bytes + kDataPadding);
  std::fill(out.data.end() - kDataPadding, out.data.end(), uint8_t{0});
  size_t at = 0;
  for (auto& ch : encoded) {
    out.block_last_doc.insert(out.block_last_doc.end(), ch.last_doc.begin(), ch.last_doc.end());
    out.block_max.insert(out.block_max.end(), ch.max.begin(), ch.max.end());
    for (uint64_t s : ch.sizes) out.block_offsets.push_back(out.block_offsets.back() + s);
    std::copy(ch.data.begin(), ch.data.end(), out.data.begin() + static_cast<std::ptrdiff_t>(at));
    at += ch.data.size();
    ch = EncodedChunk{};  // release as we go: peak stays near one copy of the data
  }
  return out;
}

void decode_term(const PostingsView& p, int64_t t, int64_t block_start, std::vector<uint32_t>& docs, std::vector<float>& weights) {
  const auto n = static_cast<int64_t>(p.term_offsets[t + 1] - p.term_offsets[t]);
  const float scale = p.scale(t);
  uint32_t codes[kBlockSize];
  for (int64_t start = 0, b = block_start; start < n; start += kBlockSize, ++b) {
    const int64_t len = std::min(kBlockSize, n - start);
    const uint8_t* block = p.data + p.block_offsets[b];
    const BlockHeader h = read_block_header(block);
    const size_t at = docs.size();
    docs.resize(at + static_cast<size_t>(len));
    decode_block_docs(block, h, len, b == block_start ? -1 : static_cast<int64_t>(p.block_last_doc[b - 1]), docs.data() + at);
    decode_block_codes(block, h, len, codes);
    for (int64_t i = 0; i < len; ++i) weights.push_back(code_to_weight(codes[i], p.coding, scale));
  }
}

namespace {
[[noreturn]] void postings_fail(const std::string& msg) { throw std::invalid_argument("index postings: " + msg); }
}  // namespace

void validate_tables(const PostingsView& p) {
  if (p.term_offsets[0] != 0) postings_fail("term offsets do not start at 0");
  for (int64_t t = 0; t < p.num_cols; ++t)
    if (p.term_offsets[t + 1] < p.term_offsets[t]) postings_fail("term offsets decrease at term " + std::to_string(t));
  const std::vector<int64_t> starts = block_starts(p.term_offsets, p.num_cols);
  if (starts[p.num_cols] != p.blocks)
    postings_fail("the term offsets imply " + std::to_string(starts[p.num_cols]) + " blocks, the file has " + std::to_string(p.blocks));
  if (p.block_offsets[0] != 0 || p.block_offsets[p.blocks] + kDataPadding != static_cast<uint64_t>(p.data_bytes))
    postings_fail("block offsets do not span the posting data");
  if (p.term_scales)
    for (int64_t t = 0; t < p.num_cols; ++t)
      if (!(std::isfinite(p.term_scales[t]) && p.term_scales[t] > 0.0f)) postings_fail("term " + std::to_string(t) + " has a bad scale");
}

void validate_term(const PostingsView& p, int64_t t, int64_t block_start, int64_t num_docs) {
  const uint32_t top_code = max_code(p.coding);
  uint32_t docs[kBlockSize], codes[kBlockSize];
  const auto n = static_cast<int64_t>(p.term_offsets[t + 1] - p.term_offsets[t]);
  const float scale = p.scale(t);
  for (int64_t start = 0, b = block_start; start < n; start += kBlockSize, ++b) {
    const int64_t len = std::min(kBlockSize, n - start);
    auto where = [&]() { return "term " + std::to_string(t) + " block " + std::to_string(b - block_start); };
    // Bounded before use: the block must lie inside the data whatever later offsets say.
    if (p.block_offsets[b + 1] < p.block_offsets[b] || p.block_offsets[b + 1] > p.block_offsets[p.blocks])
      postings_fail(where() + ": block offsets decrease or leave the data");
    const uint8_t* block = p.data + p.block_offsets[b];
    if (p.block_offsets[b + 1] - p.block_offsets[b] < static_cast<uint64_t>(kBlockHeaderBytes)) postings_fail(where() + ": block too short");
    const BlockHeader h = read_block_header(block);
    if (h.doc_bits > 32 || h.weight_bits > 32 || h.weight_shift > 31 || h.weight_bits + h.weight_shift > 32)
      postings_fail(where() + ": bit width above 32");
    if (static_cast<uint64_t>(block_bytes(len, h.doc_bits, h.weight_bits)) != p.block_offsets[b + 1] - p.block_offsets[b])
      postings_fail(where() + ": block size does not match its bit widths");
    const int64_t prev_last = start == 0 ? -1 : static_cast<int64_t>(p.block_last_doc[b - 1]);
    unpack(block + kBlockHeaderBytes, len, h.doc_bits, docs);
    int64_t doc = prev_last;
    for (int64_t i = 0; i < len; ++i) doc += static_cast<int64_t>(docs[i]) + 1;  // in int64: no wrap-around
    if (doc >= num_docs) postings_fail(where() + " names a document past the " + std::to_string(num_docs) + " in the index");
    if (doc != static_cast<int64_t>(p.block_last_doc[b])) postings_fail(where() + ": last doc does not match the block table");
    unpack(block + kBlockHeaderBytes + packed_bytes(len, h.doc_bits), len, h.weight_bits, codes);
    uint64_t top = 0;
    for (int64_t i = 0; i < len; ++i) {
      const uint64_t code = (uint64_t{codes[i]} << h.weight_shift) + h.weight_base;
      if (code < 1 || code > top_code) postings_fail(where() + ": a weight code is out of range (not a finite weight > 0)");
      top = std::max(top, code);
    }
    if (code_to_weight(static_cast<uint32_t>(top), p.coding, scale) != p.block_max[b])
      postings_fail(where() + ": the block max does not match its weights");
  }
}

void validate_postings(const PostingsView& p, int64_t num_docs, int threads) {
  validate_tables(p);
  const std::vector<int64_t> starts = block_starts(p.term_offsets, p.num_cols);
  parallel_ranges(p.num_cols, threads, [&](int64_t t_begin, int64_t t_end) {
    for (int64_t t = t_begin; t < t_end; ++t) validate_term(p, t, starts[t], num_docs);
  });
}

}  // namespace l0sparse::index
