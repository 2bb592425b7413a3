#pragma once
// Streaming construction of exact (float32) postings. Documents arrive in batches, grouped by term and in
// increasing doc order; each term keeps its finished blocks encoded (block_codec.h) and only its last,
// partial block decoded (< kBlockSize postings), so a corpus is held compressed while it streams in, not
// as 8-byte (doc, weight) pairs. finish() lays the terms out as one OwnedPostings, releasing each term's
// buffers as it is copied. Appending new documents to a built index seeds the builder with the index's
// blocks (copied as they are; only each term's partial last block is decoded again).
// Terms are independent: append() and finish() split them over threads by posting count.
#include "index/postings.h"

#include <cstdint>
#include <vector>

namespace l0sparse::index {

class PostingsBuilder {
 public:
  explicit PostingsBuilder(int64_t num_cols);

  // Starts from built exact postings (block_starts = block_starts(p.term_offsets, p.num_cols)).
  void seed(const PostingsView& p, const std::vector<int64_t>& block_starts);
  // Appends a batch grouped by term: term t gets docs[offsets[t], offsets[t+1]) with their weights' float32
  // bit patterns in codes; its docs increase and exceed every doc the term already has.
  void append(const std::vector<uint64_t>& offsets, const uint32_t* docs, const uint32_t* codes, int threads);
  // The postings so far, laid out for search; the builder is empty afterwards.
  OwnedPostings finish(int threads);

  int64_t postings() const;
  // Bytes held (encoded blocks, block tables and decoded tails), for progress and memory reports.
  int64_t bytes() const;

 private:
  struct Term {
    PostingBytes data;                // encoded full blocks, back to back
    std::vector<uint16_t> sizes;      // bytes of each encoded block
    std::vector<uint32_t> last_doc;   // per block
    std::vector<float> max;           // per block
    std::vector<uint32_t> tail_docs;  // the partial last block, decoded (< kBlockSize postings)
    std::vector<uint32_t> tail_codes;
    uint64_t count = 0;
  };
  void push(Term& term, uint32_t doc, uint32_t code);
  static void encode_tail(Term& term);

  int64_t num_cols_;
  std::vector<Term> terms_;
};

}  // namespace l0sparse::index
