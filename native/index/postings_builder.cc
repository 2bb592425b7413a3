#include "index/postings_builder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <malloc.h>

namespace l0sparse::index {
namespace {

// Terms split over threads by their share of `offsets` postings (several chunks per thread even out).
void for_term_chunks(const std::vector<uint64_t>& offsets, int64_t num_cols, int threads,
                     const std::function<void(int64_t, int64_t)>& fn) {
  threads = std::max(threads, 1);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(num_cols, int64_t{threads} * 8));
  const std::vector<int64_t> bounds = balanced_term_bounds(offsets.data(), num_cols, chunks);
  parallel_ranges(chunks, threads, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) fn(bounds[c], bounds[c + 1]);
  });
}

}  // namespace

PostingsBuilder::PostingsBuilder(int64_t num_cols) : num_cols_(num_cols), terms_(static_cast<size_t>(num_cols)) {}

void PostingsBuilder::seed(const PostingsView& p, const std::vector<int64_t>& starts) {
  if (p.coding != WeightCoding::kExactFloat32) throw std::logic_error("PostingsBuilder: only exact postings take new documents");
  if (p.num_cols != num_cols_) throw std::logic_error("PostingsBuilder: seeded with a different numCols");
  for (int64_t t = 0; t < num_cols_; ++t) {
    Term& term = terms_[t];
    const auto n = static_cast<int64_t>(p.term_offsets[t + 1] - p.term_offsets[t]);
    const int64_t full = n / kBlockSize, first = starts[t];
    // Full blocks are copied as they are: their encoding depends only on the block before them.
    const uint64_t from = p.block_offsets[first], to = p.block_offsets[first + full];
    term.data.assign(p.data + from, p.data + to);
    for (int64_t b = first; b < first + full; ++b) {
      term.sizes.push_back(static_cast<uint16_t>(p.block_offsets[b + 1] - p.block_offsets[b]));
      term.last_doc.push_back(p.block_last_doc[b]);
      term.max.push_back(p.block_max[b]);
    }
    term.count = static_cast<uint64_t>(full * kBlockSize);
    const int64_t rest = n - full * kBlockSize;
    if (rest > 0) {
      const int64_t b = first + full;
      const uint8_t* block = p.data + p.block_offsets[b];
      const BlockHeader h = read_block_header(block);
      term.tail_docs.resize(static_cast<size_t>(rest));
      term.tail_codes.resize(static_cast<size_t>(rest));
      decode_block_docs(block, h, rest, full == 0 ? -1 : static_cast<int64_t>(p.block_last_doc[b - 1]), term.tail_docs.data());
      decode_block_codes(block, h, rest, term.tail_codes.data());
      term.count += static_cast<uint64_t>(rest);
    }
  }
}

void PostingsBuilder::encode_tail(Term& term) {
  const auto n = static_cast<int64_t>(term.tail_docs.size());
  if (n == 0) return;
  const size_t at = term.data.size();
  const auto need = at + static_cast<size_t>(max_block_bytes(n));
  // Grow by a quarter, not by doubling: the builder's slack is what peak memory pays above the index.
  if (term.data.capacity() < need) term.data.reserve(std::max(need, at + at / 4 + 1024));
  term.data.resize(need);
  const int64_t prev_last = term.last_doc.empty() ? -1 : static_cast<int64_t>(term.last_doc.back());
  const int64_t bytes = encode_block(term.tail_docs.data(), term.tail_codes.data(), n, prev_last, term.data.data() + at);
  term.data.resize(at + static_cast<size_t>(bytes));
  term.sizes.push_back(static_cast<uint16_t>(bytes));
  term.last_doc.push_back(term.tail_docs.back());
  term.max.push_back(code_to_weight(*std::max_element(term.tail_codes.begin(), term.tail_codes.end()), WeightCoding::kExactFloat32, 1.0f));
  term.tail_docs.clear();
  term.tail_codes.clear();
}

void PostingsBuilder::push(Term& term, uint32_t doc, uint32_t code) {
  if (!term.tail_docs.empty() ? doc <= term.tail_docs.back() : (!term.last_doc.empty() && doc <= term.last_doc.back()))
    throw std::logic_error("PostingsBuilder: documents of a term must arrive in increasing order");
  if (code == 0) throw std::logic_error("PostingsBuilder: a weight code of 0");
  term.tail_docs.push_back(doc);
  term.tail_codes.push_back(code);
  ++term.count;
  if (static_cast<int64_t>(term.tail_docs.size()) == kBlockSize) encode_tail(term);
}

void PostingsBuilder::append(const std::vector<uint64_t>& offsets, const uint32_t* docs, const uint32_t* codes, int threads) {
  if (static_cast<int64_t>(offsets.size()) != num_cols_ + 1) throw std::logic_error("PostingsBuilder: offsets do not match numCols");
  for_term_chunks(offsets, num_cols_, threads, [&](int64_t t_begin, int64_t t_end) {
    for (int64_t t = t_begin; t < t_end; ++t)
      for (uint64_t j = offsets[t]; j < offsets[t + 1]; ++j) push(terms_[t], docs[j], codes[j]);
  });
}

OwnedPostings PostingsBuilder::finish(int threads) {
  OwnedPostings out(num_cols_);
  for (int64_t t = 0; t < num_cols_; ++t) out.term_offsets[t + 1] = out.term_offsets[t] + terms_[t].count;
  // The partial last blocks become the terms' final blocks.
  for_term_chunks(out.term_offsets, num_cols_, threads, [&](int64_t t_begin, int64_t t_end) {
    for (int64_t t = t_begin; t < t_end; ++t) encode_tail(terms_[t]);
  });
  std::vector<uint64_t> first_block(static_cast<size_t>(num_cols_) + 1, 0), first_byte(static_cast<size_t>(num_cols_) + 1, 0);
  for (int64_t t = 0; t < num_cols_; ++t) {
    first_block[t + 1] = first_block[t] + terms_[t].sizes.size();
    first_byte[t + 1] = first_byte[t] + terms_[t].data.size();
  }
  const uint64_t blocks = first_block[num_cols_];
  out.block_last_doc.resize(blocks);
  out.block_max.resize(blocks);
  out.block_offsets.resize(blocks + 1);
  out.block_offsets[blocks] = first_byte[num_cols_];
  out.data.resize(first_byte[num_cols_] + kDataPadding);  // unwritten until each term is copied in
  std::fill(out.data.end() - kDataPadding, out.data.end(), uint8_t{0});
  for_term_chunks(out.term_offsets, num_cols_, threads, [&](int64_t t_begin, int64_t t_end) {
    for (int64_t t = t_begin; t < t_end; ++t) {
      Term& term = terms_[t];
      std::copy(term.data.begin(), term.data.end(), out.data.begin() + static_cast<std::ptrdiff_t>(first_byte[t]));
      std::copy(term.last_doc.begin(), term.last_doc.end(), out.block_last_doc.begin() + static_cast<std::ptrdiff_t>(first_block[t]));
      std::copy(term.max.begin(), term.max.end(), out.block_max.begin() + static_cast<std::ptrdiff_t>(first_block[t]));
      uint64_t at = first_byte[t];
      for (size_t i = 0; i < term.sizes.size(); ++i) {
        out.block_offsets[first_block[t] + i] = at;
        at += term.sizes[i];
      }
      term = Term{};  // released as it is copied: the peak stays near one copy of the postings
    }
    // Freed term buffers sit in malloc's arenas, still resident, unless handed back: the output's pages,
    // touched only as they are written, then replace them instead of adding to them.
    malloc_trim(0);
  });
  return out;
}

int64_t PostingsBuilder::postings() const {
  int64_t n = 0;
  for (const Term& t : terms_) n += static_cast<int64_t>(t.count);
  return n;
}

int64_t PostingsBuilder::bytes() const {
  int64_t n = 0;
  for (const Term& t : terms_)
    n += static_cast<int64_t>(t.data.capacity() + t.sizes.capacity() * 2 + (t.last_doc.capacity() + t.max.capacity()) * 4 +
                              (t.tail_docs.capacity() + t.tail_codes.capacity()) * 4);
  return n;
}

}  // namespace l0sparse::index
