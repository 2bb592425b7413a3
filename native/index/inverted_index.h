#pragma once
// Inverted index over non-negative sparse document vectors with external string ids.
// Postings of a term are (doc, weight) pairs in increasing doc order, stored in two flat arrays
// addressed by term_offsets; every run of kBlockSize postings carries its max weight and last doc so
// that top-k search can skip whole blocks (block-max MaxScore, see maxscore.h).
//
// Documents arrive in CSR batches through add(); build() folds them into the postings. New documents
// always get larger internal indices, so folding appends to each term's list (no re-sorting).
#include "index/csr_view.h"

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace l0sparse::index {

inline constexpr int64_t kBlockSize = 64;

struct IndexStats {
  int64_t docs = 0;
  int64_t pending_docs = 0;  // added but not yet built
  int64_t terms = 0;         // columns with at least one posting
  int64_t postings = 0;
  int64_t blocks = 0;
  int64_t bytes = 0;         // memory held by postings, blocks and ids
};

class InvertedIndex {
 public:
  explicit InvertedIndex(int64_t num_cols);

  // Copies a batch; ids.size() must equal csr.rows, ids unique across the index and non-empty.
  // Zero weights are dropped; negative or non-finite ones are an error (nothing is added then).
  void add(const CsrView& csr, std::vector<std::string> ids);
  // Folds pending documents into the postings and refreshes the block maxima.
  void build();

  int64_t num_cols() const { return num_cols_; }
  int64_t num_docs() const { return static_cast<int64_t>(ids_.size()) - pending_rows(); }
  int64_t pending_rows() const { return static_cast<int64_t>(pending_indptr_.size()) - 1; }
  IndexStats stats() const;

  const std::string& id(int64_t doc) const { return ids_[static_cast<size_t>(doc)]; }
  const std::vector<std::string>& ids() const { return ids_; }

  // Postings of term t: [term_begin(t), term_end(t)) into doc_ids()/weights().
  int64_t term_begin(int64_t t) const { return term_offsets_[static_cast<size_t>(t)]; }
  int64_t term_end(int64_t t) const { return term_offsets_[static_cast<size_t>(t) + 1]; }
  const uint32_t* doc_ids() const { return doc_ids_.data(); }
  const float* weights() const { return weights_.data(); }
  // Blocks of term t: [block_begin(t), block_begin(t+1)); block i covers postings
  // [term_begin(t) + (i - block_begin(t)) * kBlockSize, ...).
  int64_t block_begin(int64_t t) const { return block_offsets_[static_cast<size_t>(t)]; }
  const float* block_max() const { return block_max_.data(); }
  const uint32_t* block_last_doc() const { return block_last_doc_.data(); }
  float term_max(int64_t t) const { return term_max_[static_cast<size_t>(t)]; }

  // Raw parts for serialisation (index_file.h) and loading: the postings alone define an index.
  const std::vector<int64_t>& term_offsets() const { return term_offsets_; }
  const std::vector<uint32_t>& doc_id_array() const { return doc_ids_; }
  const std::vector<float>& weight_array() const { return weights_; }
  // Replaces the whole index by validated postings (throws std::invalid_argument on any inconsistency).
  static InvertedIndex from_postings(int64_t num_cols, std::vector<std::string> ids, std::vector<int64_t> term_offsets,
                                     std::vector<uint32_t> doc_ids, std::vector<float> weights);

 private:
  void compute_blocks();

  int64_t num_cols_;
  std::vector<std::string> ids_;  // built docs first, then pending ones
  std::unordered_set<std::string> id_set_;

  // Documents added since the last build, as one CSR (weights already > 0).
  std::vector<int64_t> pending_indptr_{0};
  std::vector<int32_t> pending_indices_;
  std::vector<float> pending_values_;

  std::vector<int64_t> term_offsets_;
  std::vector<uint32_t> doc_ids_;
  std::vector<float> weights_;
  std::vector<int64_t> block_offsets_;
  std::vector<float> block_max_;
  std::vector<uint32_t> block_last_doc_;
  std::vector<float> term_max_;
};

}  // namespace l0sparse::index
