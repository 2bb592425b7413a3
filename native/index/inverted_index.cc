#include "index/inverted_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace l0sparse::index {
namespace {

// Internal doc indices are uint32 and cross N-API as int32: keep them below 2^31.
constexpr int64_t kMaxDocs = INT32_MAX;

// What an index built in memory owns.
struct OwnedIndexData {
  OwnedPostings postings;
  std::vector<uint64_t> id_offsets{0};
  std::string id_bytes;
};

uint32_t float_bits(float w) {
  uint32_t b;
  std::memcpy(&b, &w, 4);
  return b;
}

int resolve_threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::shared_ptr<OwnedIndexData> make_owned(OwnedPostings postings, std::vector<uint64_t> id_offsets, std::string id_bytes) {
  auto data = std::make_shared<OwnedIndexData>();
  data->postings = std::move(postings);
  data->id_offsets = std::move(id_offsets);
  data->id_bytes = std::move(id_bytes);
  return data;
}

IdsView ids_of(const OwnedIndexData& d) {
  return {d.id_offsets.data(), d.id_bytes.data(), static_cast<int64_t>(d.id_offsets.size()) - 1};
}

}  // namespace

InvertedIndex::InvertedIndex(int64_t num_cols) {
  if (num_cols < 1 || num_cols > INT32_MAX) throw std::invalid_argument("numCols must be in [1, 2^31), got " + std::to_string(num_cols));
  auto data = make_owned(OwnedPostings(num_cols), {0}, {});
  postings_ = data->postings.view();
  ids_ = ids_of(*data);
  storage_ = std::move(data);
  id_set_ready_ = true;
  refresh_derived();
}

InvertedIndex::InvertedIndex(PostingsView postings, IdsView ids, std::shared_ptr<const void> storage, bool mapped,
                             bool terms_verified, bool ids_verified, std::string origin)
    : postings_(postings), ids_(ids), storage_(std::move(storage)), mapped_(mapped), ids_verified_(ids_verified),
      origin_(std::move(origin)) {
  if (!terms_verified) {
    term_checked_ = std::make_unique<std::atomic<uint8_t>[]>(static_cast<size_t>(postings_.num_cols));
    for (int64_t t = 0; t < postings_.num_cols; ++t) term_checked_[t].store(0, std::memory_order_relaxed);
  }
  refresh_derived();
}

std::runtime_error InvertedIndex::corrupt(const std::string& what) const {
  return std::runtime_error((origin_.empty() ? std::string("index") : origin_) + ": corrupt index file: " + what);
}

void InvertedIndex::check_term_slow(int64_t t) const {
  try {
    validate_term(postings_, t, block_starts_[t], num_docs());
  } catch (const std::invalid_argument& e) {
    throw corrupt(e.what());
  }
  term_checked_[t].store(1, std::memory_order_release);
}

void InvertedIndex::check_ids() const {
  if (ids_verified_ || id_set_ready_) return;
  std::unordered_set<std::string_view> seen;
  seen.reserve(static_cast<size_t>(num_docs()));
  for (int64_t d = 0; d < num_docs(); ++d)
    if (!seen.insert(id(d)).second)
      throw corrupt("duplicate document id '" + std::string(id(d)) + "'");
}

void InvertedIndex::check_all_terms(int threads) const {
  if (!term_checked_) return;
  parallel_ranges(num_cols(), resolve_threads(threads), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) check_term(t);
  });
}

void InvertedIndex::refresh_derived() {
  block_starts_ = block_starts(postings_.term_offsets, postings_.num_cols);
  term_max_.assign(static_cast<size_t>(postings_.num_cols), 0.0f);
  for (int64_t t = 0; t < postings_.num_cols; ++t)
    for (int64_t b = block_starts_[t]; b < block_starts_[t + 1]; ++b) term_max_[t] = std::max(term_max_[t], postings_.block_max[b]);
}

void InvertedIndex::ensure_id_set() {
  if (id_set_ready_) return;
  check_ids();  // a lazily opened file's ids were not checked for uniqueness yet
  id_set_.reserve(static_cast<size_t>(num_docs()));
  for (int64_t d = 0; d < num_docs(); ++d) id_set_.emplace(id(d));
  id_set_ready_ = true;
}

std::vector<std::string> InvertedIndex::ids() const {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(num_docs()));
  for (int64_t d = 0; d < num_docs(); ++d) out.emplace_back(id(d));
  return out;
}

void InvertedIndex::add(const CsrView& csr, std::vector<std::string> ids, int threads) {
  if (csr.num_cols != num_cols())
    throw std::invalid_argument("add: the batch has numCols " + std::to_string(csr.num_cols) + " but the index has " +
                                std::to_string(num_cols()));
  if (coding() != WeightCoding::kExactFloat32)
    throw std::invalid_argument(std::string("add: this index holds quantized (") + weight_coding_name(coding()) +
                                ") weights and takes no new documents; build from the vectors instead");
  if (static_cast<int64_t>(ids.size()) != csr.rows)
    throw std::invalid_argument("add: " + std::to_string(ids.size()) + " ids for " + std::to_string(csr.rows) + " rows");
  if (num_docs() + pending_rows() + csr.rows > kMaxDocs) throw std::invalid_argument("add: an index holds at most 2^31 - 1 documents");
  ensure_id_set();
  // Check everything before changing anything, so a bad batch leaves the index as it was.
  std::unordered_set<std::string_view> batch_ids;
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
    pending_ids_.push_back(std::move(id));
  }
  if (static_cast<int64_t>(pending_indices_.size()) >= fold_threshold_) fold_pending(threads);
}

void InvertedIndex::fold_pending(int threads) {
  const int64_t rows = static_cast<int64_t>(pending_indptr_.size()) - 1;
  if (rows == 0) return;
  threads = resolve_threads(threads);
  const int64_t cols = num_cols(), first_doc = num_docs() + folded_rows_;
  if (!builder_) {
    check_all_terms(threads);  // the builder copies every block of a loaded index
    auto builder = std::make_unique<PostingsBuilder>(cols);
    builder->seed(postings_, block_starts_);
    builder_ = std::move(builder);
  }
  // Inversion by a two-pass counting sort over row ranges: each range counts its postings per term, the
  // prefix sums give every range its own write position in each term, and the ranges scatter in
  // parallel. Within a term the postings land in row (= doc) order.
  const int64_t ranges = std::min<int64_t>(rows, threads);
  std::vector<std::vector<int64_t>> counts(static_cast<size_t>(ranges), std::vector<int64_t>(static_cast<size_t>(cols), 0));
  auto range_rows = [&](int64_t r) { return std::pair<int64_t, int64_t>{rows * r / ranges, rows * (r + 1) / ranges}; };
  parallel_ranges(ranges, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const auto [lo, hi] = range_rows(r);
      for (int64_t j = pending_indptr_[lo]; j < pending_indptr_[hi]; ++j) ++counts[r][pending_indices_[j]];
    }
  });
  std::vector<uint64_t> new_offsets(static_cast<size_t>(cols) + 1, 0);  // pending postings grouped by term
  for (int64_t t = 0; t < cols; ++t) {
    int64_t at = static_cast<int64_t>(new_offsets[t]);
    for (int64_t r = 0; r < ranges; ++r) {
      const int64_t c = counts[r][t];
      counts[r][t] = at;  // now: where range r writes its first posting of term t
      at += c;
    }
    new_offsets[t + 1] = static_cast<uint64_t>(at);
  }
  std::vector<uint32_t> new_docs(pending_indices_.size()), new_codes(pending_indices_.size());
  parallel_ranges(ranges, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const auto [lo, hi] = range_rows(r);
      std::vector<int64_t>& cursor = counts[r];
      for (int64_t row = lo; row < hi; ++row)
        for (int64_t j = pending_indptr_[row]; j < pending_indptr_[row + 1]; ++j) {
          const int64_t pos = cursor[pending_indices_[j]]++;
          new_docs[pos] = static_cast<uint32_t>(first_doc + row);
          new_codes[pos] = float_bits(pending_values_[j]);
        }
    }
  });
  counts = {};
  pending_indices_ = {};
  pending_values_ = {};
  pending_indptr_.assign(1, 0);
  builder_->append(new_offsets, new_docs.data(), new_codes.data(), threads);
  folded_rows_ += rows;
}

void InvertedIndex::build(int threads) {
  if (pending_rows() == 0) return;
  threads = resolve_threads(threads);
  fold_pending(threads);
  OwnedPostings merged = builder_->finish(threads);
  builder_.reset();

  std::vector<uint64_t> id_offsets(ids_.offsets, ids_.offsets + ids_.docs + 1);
  std::string id_bytes(ids_.bytes, static_cast<size_t>(ids_.offsets[ids_.docs]));
  id_offsets.reserve(id_offsets.size() + pending_ids_.size());
  for (const auto& id : pending_ids_) {
    id_bytes += id;
    id_offsets.push_back(id_bytes.size());
  }
  auto data = make_owned(std::move(merged), std::move(id_offsets), std::move(id_bytes));
  postings_ = data->postings.view();
  ids_ = ids_of(*data);
  storage_ = std::move(data);
  mapped_ = false;
  term_checked_.reset();  // every term was checked before the builder copied it
  pending_ids_ = {};
  folded_rows_ = 0;
  refresh_derived();
}

IndexStats InvertedIndex::stats() const {
  IndexStats s;
  s.docs = num_docs();
  s.pending_docs = pending_rows();
  for (int64_t t = 0; t < num_cols(); ++t) s.terms += term_end(t) > term_begin(t);
  s.postings = postings_.postings();
  s.blocks = postings_.blocks;
  s.posting_bytes = postings_.data_bytes + static_cast<int64_t>((num_cols() + 1) * sizeof(uint64_t)) +
                    postings_.blocks * static_cast<int64_t>(sizeof(uint32_t) + sizeof(float) + sizeof(uint64_t)) +
                    (postings_.term_scales ? num_cols() * static_cast<int64_t>(sizeof(float)) : 0);
  s.bytes = s.posting_bytes + static_cast<int64_t>((ids_.docs + 1) * sizeof(uint64_t) + ids_.offsets[ids_.docs]) +
            static_cast<int64_t>(pending_indices_.size() * (sizeof(int32_t) + sizeof(float))) + (builder_ ? builder_->bytes() : 0);
  s.mapped = mapped_;
  s.coding = coding();
  return s;
}

void InvertedIndex::decode_all(std::vector<uint64_t>& term_offsets, std::vector<uint32_t>& docs, std::vector<float>& weights) const {
  check_all_terms(1);
  term_offsets.assign(postings_.term_offsets, postings_.term_offsets + num_cols() + 1);
  docs.clear();
  weights.clear();
  docs.reserve(static_cast<size_t>(postings_.postings()));
  weights.reserve(static_cast<size_t>(postings_.postings()));
  for (int64_t t = 0; t < num_cols(); ++t) decode_term(postings_, t, block_starts_[t], docs, weights);
}

InvertedIndex index_from_postings(int64_t num_cols, std::vector<std::string> ids, std::vector<uint64_t> term_offsets,
                                  std::vector<uint32_t> doc_ids, std::vector<float> weights, int threads) {
  auto fail = [](const std::string& msg) { throw std::invalid_argument("index postings: " + msg); };
  const auto docs = static_cast<int64_t>(ids.size());
  if (num_cols < 1 || num_cols > INT32_MAX) fail("numCols out of range");
  if (docs > kMaxDocs) fail("too many documents");
  if (static_cast<int64_t>(term_offsets.size()) != num_cols + 1) fail("term offsets do not match numCols");
  if (doc_ids.size() != weights.size()) fail("doc ids and weights differ in length");
  if (term_offsets[0] != 0 || term_offsets[num_cols] != doc_ids.size()) fail("term offsets do not span the postings");
  for (int64_t t = 0; t < num_cols; ++t) {
    const uint64_t begin = term_offsets[t], end = term_offsets[t + 1];
    // Bounded before use: a later decrease must not let an earlier offset run past the postings.
    if (end < begin || end > doc_ids.size()) fail("term offsets decrease or leave the postings at term " + std::to_string(t));
    for (uint64_t j = begin; j < end; ++j) {
      if (doc_ids[j] >= static_cast<uint64_t>(docs))
        fail("term " + std::to_string(t) + " names document " + std::to_string(doc_ids[j]) + " of " + std::to_string(docs));
      if (j > begin && doc_ids[j] <= doc_ids[j - 1]) fail("term " + std::to_string(t) + " postings are not in increasing doc order");
      if (!(std::isfinite(weights[j]) && weights[j] > 0.0f)) fail("term " + std::to_string(t) + " has a weight that is not finite and > 0");
    }
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(ids.size());
  std::vector<uint64_t> id_offsets{0};
  std::string id_bytes;
  for (size_t r = 0; r < ids.size(); ++r) {
    if (ids[r].empty()) fail("document " + std::to_string(r) + " has an empty id");
    if (!seen.insert(ids[r]).second) fail("duplicate document id '" + ids[r] + "'");
    id_bytes += ids[r];
    id_offsets.push_back(id_bytes.size());
  }
  const std::vector<uint64_t> offsets = term_offsets;
  OwnedPostings postings = encode_postings(std::move(term_offsets), WeightCoding::kExactFloat32, {}, threads,
                                           [&](int64_t t, std::vector<uint32_t>& d, std::vector<uint32_t>& codes) {
                                             for (uint64_t j = offsets[t]; j < offsets[t + 1]; ++j) {
                                               d.push_back(doc_ids[j]);
                                               codes.push_back(float_bits(weights[j]));
                                             }
                                           });
  auto data = make_owned(std::move(postings), std::move(id_offsets), std::move(id_bytes));
  const PostingsView view = data->postings.view();
  const IdsView id_view = ids_of(*data);
  return InvertedIndex(view, id_view, std::move(data), false);
}

OwnedPostings requantize(const InvertedIndex& index, WeightCoding coding, bool per_term_scale, int threads) {
  const PostingsView& p = index.postings();
  if (index.coding() != WeightCoding::kExactFloat32)
    throw std::invalid_argument("requantize: the index already holds quantized weights");
  index.check_all_terms(threads);
  std::vector<uint64_t> offsets(p.term_offsets, p.term_offsets + p.num_cols + 1);
  if (coding == WeightCoding::kExactFloat32)
    return encode_postings(std::move(offsets), coding, {}, resolve_threads(threads),
                           [&](int64_t t, std::vector<uint32_t>& docs, std::vector<uint32_t>& codes) {
                             std::vector<float> weights;
                             decode_term(p, t, index.block_begin(t), docs, weights);
                             for (float w : weights) codes.push_back(float_bits(w));
                           });
  const auto top = static_cast<float>(max_code(coding));
  float global_max = 0.0f;
  for (int64_t t = 0; t < p.num_cols; ++t) global_max = std::max(global_max, index.term_max(t));
  std::vector<float> scales(static_cast<size_t>(p.num_cols));
  for (int64_t t = 0; t < p.num_cols; ++t) {
    const float m = per_term_scale ? index.term_max(t) : global_max;
    scales[t] = m > 0.0f ? m / top : 1.0f;  // a term without postings keeps a valid scale
  }
  return encode_postings(std::move(offsets), coding, scales, resolve_threads(threads),
                         [&](int64_t t, std::vector<uint32_t>& docs, std::vector<uint32_t>& codes) {
                           std::vector<float> weights;
                           decode_term(p, t, index.block_begin(t), docs, weights);
                           for (float w : weights) {
                             // >= 1 so that no posting vanishes (Lucene rounds small impacts up the same way).
                             const double c = std::nearbyint(static_cast<double>(w) / scales[t]);
                             codes.push_back(static_cast<uint32_t>(std::clamp(c, 1.0, static_cast<double>(top))));
                           }
                         });
}

}  // namespace l0sparse::index
