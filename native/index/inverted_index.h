#pragma once
// Inverted index over non-negative sparse document vectors with external string ids.
// Postings of a term are (doc, weight) pairs in increasing doc order, compressed in blocks of
// kBlockSize (postings.h, block_codec.h); each block's last doc and max weight stay uncompressed so that
// top-k search can skip and bound whole blocks (block-max MaxScore, see maxscore.h).
//
// Documents arrive in CSR batches through add(). Every million postings, add() inverts the batches
// seen so far (on several threads) into a PostingsBuilder, which keeps them compressed; build() folds in
// the rest and lays the postings out for search. So the memory a build needs stays near the size of the
// index, not of the vectors. New documents always get larger internal indices, so merging appends to each
// term's list. The postings and ids are either owned or views into a memory-mapped file (index_file.h);
// `storage` keeps whichever alive.
//
// A memory-mapped index may be opened with its terms unverified (index_file.h, Verify::kOnFirstUse): then
// each term's blocks are checked the first time anything reads them (check_term), so opening costs
// O(numCols + docs) instead of a pass over every posting.
#include "index/csr_view.h"
#include "index/postings.h"
#include "index/postings_builder.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace l0sparse::index {

struct IndexStats {
  int64_t docs = 0;
  int64_t pending_docs = 0;  // added but not yet built
  int64_t terms = 0;         // columns with at least one posting
  int64_t postings = 0;
  int64_t blocks = 0;
  int64_t bytes = 0;         // postings, block tables and ids (owned or mapped)
  int64_t posting_bytes = 0; // compressed postings with their block tables
  bool mapped = false;       // served from a memory-mapped file
  WeightCoding coding = WeightCoding::kExactFloat32;
};

// Ids as offsets into one byte string (the file layout; a view when mapped).
struct IdsView {
  const uint64_t* offsets = nullptr;  // docs + 1
  const char* bytes = nullptr;
  int64_t docs = 0;
};

class InvertedIndex {
 public:
  explicit InvertedIndex(int64_t num_cols);
  // An index over postings and ids that passed validate_tables (and, when terms_verified, validate_term
  // for every term; otherwise check_term does it on first use, naming `origin` in its errors); ids are
  // unique unless ids_verified is false (then the first add() checks them). `storage` owns what the views
  // point into.
  InvertedIndex(PostingsView postings, IdsView ids, std::shared_ptr<const void> storage, bool mapped,
                bool terms_verified = true, bool ids_verified = true, std::string origin = {});

  // Copies a batch; ids.size() must equal csr.rows, ids unique across the index and non-empty.
  // Zero weights are dropped; negative or non-finite ones are an error (nothing is added then).
  // A quantized index (loaded from a uint8/uint16 file) takes no new documents. Once the pending batches
  // hold fold_threshold() postings they are inverted into the builder on `threads` threads.
  void add(const CsrView& csr, std::vector<std::string> ids, int threads = 1);
  // Makes every added document searchable, on `threads` threads (<= 0: hardware concurrency).
  void build(int threads = 1);
  // Pending postings that trigger a fold into the builder (tests and benchmarks lower it).
  int64_t fold_threshold() const { return fold_threshold_; }
  void set_fold_threshold(int64_t postings) { fold_threshold_ = postings < 1 ? 1 : postings; }

  // Throws std::runtime_error ("<origin>: corrupt index file: ...") when term t's blocks are damaged;
  // a no-op once checked (or for an index whose terms were all verified). Safe from several threads.
  void check_term(int64_t t) const {
    if (term_checked_ && !term_checked_[static_cast<size_t>(t)].load(std::memory_order_acquire)) check_term_slow(t);
  }
  // Checks every term not yet checked (before anything reads them all: save, requantize, decode_all).
  void check_all_terms(int threads) const;
  // Checks that ids are unique when the file's ids were not checked on open (before save copies them).
  void check_ids() const;

  int64_t num_cols() const { return postings_.num_cols; }
  int64_t num_docs() const { return ids_.docs; }
  int64_t pending_rows() const { return static_cast<int64_t>(pending_ids_.size()); }
  IndexStats stats() const;

  std::string_view id(int64_t doc) const {
    return {ids_.bytes + ids_.offsets[doc], static_cast<size_t>(ids_.offsets[doc + 1] - ids_.offsets[doc])};
  }
  std::vector<std::string> ids() const;  // a copy, for tests and tools
  const IdsView& ids_view() const { return ids_; }

  const PostingsView& postings() const { return postings_; }
  int64_t term_begin(int64_t t) const { return static_cast<int64_t>(postings_.term_offsets[t]); }
  int64_t term_end(int64_t t) const { return static_cast<int64_t>(postings_.term_offsets[t + 1]); }
  // Blocks of term t: [block_begin(t), block_begin(t + 1)).
  int64_t block_begin(int64_t t) const { return block_starts_[static_cast<size_t>(t)]; }
  float term_max(int64_t t) const { return term_max_[static_cast<size_t>(t)]; }
  WeightCoding coding() const { return postings_.coding; }

  // All postings decoded (docs, weights, term offsets): for tests, v1 files and re-encoding.
  void decode_all(std::vector<uint64_t>& term_offsets, std::vector<uint32_t>& docs, std::vector<float>& weights) const;

 private:
  void refresh_derived();
  void ensure_id_set();
  void fold_pending(int threads);
  void check_term_slow(int64_t t) const;
  std::runtime_error corrupt(const std::string& what) const;  // "<origin>: corrupt index file: <what>"

  PostingsView postings_;
  IdsView ids_;
  std::shared_ptr<const void> storage_;  // owns postings_ and ids_
  bool mapped_ = false;
  std::vector<int64_t> block_starts_;
  std::vector<float> term_max_;

  // Set when the terms are checked on first use: 1 once term t passed validate_term.
  std::unique_ptr<std::atomic<uint8_t>[]> term_checked_;
  bool ids_verified_ = true;
  std::string origin_;

  std::unordered_set<std::string> id_set_;  // built on the first add()
  bool id_set_ready_ = false;

  // Documents added since the last build: ids of all of them; postings of the first folded_rows_ already
  // in builder_, of the rest still as one CSR (weights > 0).
  std::vector<std::string> pending_ids_;
  std::unique_ptr<PostingsBuilder> builder_;
  int64_t folded_rows_ = 0;
  int64_t fold_threshold_ = int64_t{1} << 20;
  std::vector<int64_t> pending_indptr_{0};
  std::vector<int32_t> pending_indices_;
  std::vector<float> pending_values_;
};

// Builds an index from plain postings (v1 files, tests), checking them like a loaded file.
InvertedIndex index_from_postings(int64_t num_cols, std::vector<std::string> ids, std::vector<uint64_t> term_offsets,
                                  std::vector<uint32_t> doc_ids, std::vector<float> weights, int threads = 1);

// The postings of `index` re-encoded with `coding`: quantized codes are max(1, round(w / scale)) with
// scale = (term max or, when per_term_scale is false, global max) / max code.
OwnedPostings requantize(const InvertedIndex& index, WeightCoding coding, bool per_term_scale, int threads);

}  // namespace l0sparse::index
