#include "index/inverted_index.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace l0sparse::index {

// Internal doc indices are uint32 and cross N-API as int32: keep them below 2^31.
static constexpr int64_t kMaxDocs = INT32_MAX;

InvertedIndex::InvertedIndex(int64_t num_cols) : num_cols_(num_cols) {
  if (num_cols < 1 || num_cols > INT32_MAX) throw std::invalid_argument("numCols must be in [1, 2^31), got " + std::to_string(num_cols));
  term_offsets_.assign(static_cast<size_t>(num_cols) + 1, 0);
  block_offsets_.assign(static_cast<size_t>(num_cols) + 1, 0);
  term_max_.assign(static_cast<size_t>(num_cols), 0.0f);
}

void InvertedIndex::add(const CsrView& csr, std::vector<std::string> ids) {
  if (csr.num_cols != num_cols_)
    throw std::invalid_argument("add: the batch has numCols " + std::to_string(csr.num_cols) + " but the index has " +
                                std::to_string(num_cols_));
  if (static_cast<int64_t>(ids.size()) != csr.rows)
    throw std::invalid_argument("add: " + std::to_string(ids.size()) + " ids for " + std::to_string(csr.rows) + " rows");
  if (static_cast<int64_t>(ids_.size()) + csr.rows > kMaxDocs)
    throw std::invalid_argument("add: an index holds at most 2^31 - 1 documents");
  // Check everything before changing anything, so a bad batch leaves the index as it was.
  std::unordered_set<std::string> batch_ids;
  batch_ids.reserve(ids.size());
  for (size_t r = 0; r < ids.size(); ++r) {
    if (ids[r].empty()) throw std::invalid_argument("add: row " + std::to_string(r) + " has an empty id");
    if (id_set_.count(ids[r]) || !batch_ids.insert(ids[r]).second)
      throw std::invalid_argument("add: duplicate document id '" + ids[r] + "' (row " + std::to_string(r) + ")");
  }
  validate_csr(csr, csr.nnz(), ValueRule::kNonNegative, "add");
  for (int64_t r = 0; r < csr.rows; ++r) {
    for (int64_t j = csr.indptr[r]; j < csr.indptr[r + 1]; ++j) {
      if (csr.values[j] == 0.0f) continue;  // an explicit zero contributes nothing to any dot product
      pending_indices_.push_back(csr.indices[j]);
      pending_values_.push_back(csr.values[j]);
    }
    pending_indptr_.push_back(static_cast<int64_t>(pending_indices_.size()));
  }
  for (auto& id : ids) {
    id_set_.insert(id);
    ids_.push_back(std::move(id));
  }
}

void InvertedIndex::build() {
  const int64_t rows = pending_rows();
  if (rows == 0) return;
  const int64_t first_doc = num_docs();
  // Counting sort by term: new postings of term t go after its old ones, in doc order.
  std::vector<int64_t> new_offsets(static_cast<size_t>(num_cols_) + 1, 0);
  for (int32_t col : pending_indices_) ++new_offsets[static_cast<size_t>(col) + 1];
  for (int64_t t = 0; t < num_cols_; ++t)
    new_offsets[t + 1] += new_offsets[t] + (term_offsets_[t + 1] - term_offsets_[t]);
  const int64_t total = new_offsets[num_cols_];
  std::vector<uint32_t> docs(static_cast<size_t>(total));
  std::vector<float> weights(static_cast<size_t>(total));
  std::vector<int64_t> cursor(static_cast<size_t>(num_cols_));
  for (int64_t t = 0; t < num_cols_; ++t) {
    const int64_t old_begin = term_offsets_[t], old_len = term_offsets_[t + 1] - old_begin;
    std::copy_n(doc_ids_.begin() + old_begin, old_len, docs.begin() + new_offsets[t]);
    std::copy_n(weights_.begin() + old_begin, old_len, weights.begin() + new_offsets[t]);
    cursor[t] = new_offsets[t] + old_len;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const auto doc = static_cast<uint32_t>(first_doc + r);
    for (int64_t j = pending_indptr_[r]; j < pending_indptr_[r + 1]; ++j) {
      const int64_t pos = cursor[pending_indices_[j]]++;
      docs[pos] = doc;
      weights[pos] = pending_values_[j];
    }
  }
  term_offsets_ = std::move(new_offsets);
  doc_ids_ = std::move(docs);
  weights_ = std::move(weights);
  pending_indptr_.assign(1, 0);
  pending_indices_.clear();
  pending_indices_.shrink_to_fit();
  pending_values_.clear();
  pending_values_.shrink_to_fit();
  compute_blocks();
}

void InvertedIndex::compute_blocks() {
  block_offsets_.assign(static_cast<size_t>(num_cols_) + 1, 0);
  for (int64_t t = 0; t < num_cols_; ++t) {
    const int64_t len = term_offsets_[t + 1] - term_offsets_[t];
    block_offsets_[t + 1] = block_offsets_[t] + (len + kBlockSize - 1) / kBlockSize;
  }
  const int64_t blocks = block_offsets_[num_cols_];
  block_max_.assign(static_cast<size_t>(blocks), 0.0f);
  block_last_doc_.assign(static_cast<size_t>(blocks), 0);
  term_max_.assign(static_cast<size_t>(num_cols_), 0.0f);
  for (int64_t t = 0; t < num_cols_; ++t) {
    const int64_t begin = term_offsets_[t], end = term_offsets_[t + 1];
    int64_t b = block_offsets_[t];
    for (int64_t start = begin; start < end; start += kBlockSize, ++b) {
      const int64_t stop = std::min(end, start + kBlockSize);
      block_max_[b] = *std::max_element(weights_.begin() + start, weights_.begin() + stop);
      block_last_doc_[b] = doc_ids_[stop - 1];
      term_max_[t] = std::max(term_max_[t], block_max_[b]);
    }
  }
}

IndexStats InvertedIndex::stats() const {
  IndexStats s;
  s.docs = num_docs();
  s.pending_docs = pending_rows();
  for (int64_t t = 0; t < num_cols_; ++t) s.terms += term_offsets_[t + 1] > term_offsets_[t];
  s.postings = static_cast<int64_t>(doc_ids_.size());
  s.blocks = static_cast<int64_t>(block_max_.size());
  s.bytes = static_cast<int64_t>(doc_ids_.size() * (sizeof(uint32_t) + sizeof(float)) +
                                 term_offsets_.size() * sizeof(int64_t) * 2 + term_max_.size() * sizeof(float) +
                                 block_max_.size() * (sizeof(float) + sizeof(uint32_t)) +
                                 pending_indices_.size() * (sizeof(int32_t) + sizeof(float)));
  for (const auto& id : ids_) s.bytes += static_cast<int64_t>(id.size() + sizeof(std::string));
  return s;
}

InvertedIndex InvertedIndex::from_postings(int64_t num_cols, std::vector<std::string> ids,
                                           std::vector<int64_t> term_offsets, std::vector<uint32_t> doc_ids,
                                           std::vector<float> weights) {
  InvertedIndex index(num_cols);
  auto fail = [](const std::string& msg) { throw std::invalid_argument("index postings: " + msg); };
  const auto docs = static_cast<int64_t>(ids.size());
  if (docs > kMaxDocs) fail("too many documents");
  if (static_cast<int64_t>(term_offsets.size()) != num_cols + 1) fail("term offsets do not match numCols");
  if (doc_ids.size() != weights.size()) fail("doc ids and weights differ in length");
  if (term_offsets[0] != 0 || term_offsets[num_cols] != static_cast<int64_t>(doc_ids.size()))
    fail("term offsets do not span the postings");
  for (int64_t t = 0; t < num_cols; ++t) {
    const int64_t begin = term_offsets[t], end = term_offsets[t + 1];
    // Bounded before use: a later decrease must not let an earlier offset run past the postings.
    if (end < begin || end > static_cast<int64_t>(doc_ids.size()))
      fail("term offsets decrease or leave the postings at term " + std::to_string(t));
    for (int64_t j = begin; j < end; ++j) {
      if (doc_ids[j] >= static_cast<uint64_t>(docs))
        fail("term " + std::to_string(t) + " names document " + std::to_string(doc_ids[j]) + " of " + std::to_string(docs));
      if (j > begin && doc_ids[j] <= doc_ids[j - 1]) fail("term " + std::to_string(t) + " postings are not in increasing doc order");
      if (!(std::isfinite(weights[j]) && weights[j] > 0.0f)) fail("term " + std::to_string(t) + " has a weight that is not finite and > 0");
    }
  }
  for (size_t r = 0; r < ids.size(); ++r) {
    if (ids[r].empty()) fail("document " + std::to_string(r) + " has an empty id");
    if (!index.id_set_.insert(ids[r]).second) fail("duplicate document id '" + ids[r] + "'");
  }
  index.ids_ = std::move(ids);
  index.term_offsets_ = std::move(term_offsets);
  index.doc_ids_ = std::move(doc_ids);
  index.weights_ = std::move(weights);
  index.compute_blocks();
  return index;
}

}  // namespace l0sparse::index
