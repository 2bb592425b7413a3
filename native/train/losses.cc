#include "train/losses.h"

#include <c10/util/Exception.h>

#include <algorithm>

namespace l0sparse::train {

at::Tensor sparse_query_scores(const at::Tensor& query_indptr, const at::Tensor& query_indices,
                               const at::Tensor& query_values, const at::Tensor& docs) {
  TORCH_CHECK(query_indptr.dim() == 1 && query_indptr.size(0) >= 1, "query scores: indptr must be [Q+1]");
  TORCH_CHECK(query_indices.dim() == 1 && query_values.dim() == 1 && query_indices.size(0) == query_values.size(0),
              "query scores: indices and values must be 1-D of equal length");
  TORCH_CHECK(docs.dim() == 2, "query scores: docs must be [N, V]");
  const int64_t num_queries = query_indptr.size(0) - 1;
  const int64_t vocab = docs.size(1);
  at::Tensor indptr = query_indptr.to(at::kLong).contiguous();
  at::Tensor indices = query_indices.to(at::kLong).contiguous();
  // A lying indptr would otherwise be broadcast by index_put_ (values silently repeated or dropped).
  TORCH_CHECK(indptr[0].item<int64_t>() == 0 && indptr[num_queries].item<int64_t>() == indices.numel() &&
                  (num_queries == 0 || indptr.diff().ge(0).all().item<bool>()),
              "query scores: indptr must start at 0, never decrease and end at the number of indices (",
              indices.numel(), ")");
  TORCH_CHECK(indices.numel() == 0 || (indices.min().item<int64_t>() >= 0 && indices.max().item<int64_t>() < vocab),
              "query scores: a query token id is outside [0, ", vocab, ")");
  // Union of query tokens -> compact column space.
  auto [unique, inverse] = at::_unique(indices, /*sorted=*/true, /*return_inverse=*/true);
  at::Tensor rows = at::repeat_interleave(at::arange(num_queries, indptr.options()), indptr.diff());
  at::Tensor compact = at::zeros({num_queries, unique.size(0)}, docs.options());
  compact.index_put_({rows, inverse}, query_values.to(docs.scalar_type()), /*accumulate=*/true);
  return at::matmul(compact, docs.index_select(1, unique).t());  // [Q, N]
}

at::Tensor group_scores(const at::Tensor& scores, int64_t group_size) {
  const int64_t q = scores.size(0);
  TORCH_CHECK(group_size >= 1 && scores.size(1) == q * group_size, "group scores: expected [Q, Q*G] = [", q, ", ",
              q * group_size, "], got ", scores.sizes());
  at::Tensor cols = at::arange(q, scores.options().dtype(at::kLong)).mul(group_size).unsqueeze(1) +
                    at::arange(group_size, scores.options().dtype(at::kLong)).unsqueeze(0);
  return scores.gather(1, cols);  // [Q, G]
}

at::Tensor kl_distillation_loss(const at::Tensor& student, const at::Tensor& teacher, double temperature) {
  TORCH_CHECK(student.sizes() == teacher.sizes() && student.dim() == 2,
              "KL loss: student and teacher scores must both be [Q, G], got ", student.sizes(), " and ", teacher.sizes());
  TORCH_CHECK(temperature > 0, "KL loss: temperature must be > 0");
  at::Tensor log_p_student = at::log_softmax(student / temperature, 1);
  at::Tensor log_p_teacher = at::log_softmax(teacher.to(student.scalar_type()) / temperature, 1);
  at::Tensor kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1);
  return kl.mean() * (temperature * temperature);
}

at::Tensor margin_mse_loss(const at::Tensor& student, const at::Tensor& teacher) {
  TORCH_CHECK(student.sizes() == teacher.sizes() && student.dim() == 2 && student.size(1) >= 2,
              "MarginMSE: student and teacher scores must both be [Q, G >= 2], got ", student.sizes(), " and ",
              teacher.sizes());
  using at::indexing::Slice;
  at::Tensor s = student.index({Slice(), Slice(0, 1)}) - student.index({Slice(), Slice(1)});
  at::Tensor t = teacher.to(student.scalar_type());
  t = t.index({Slice(), Slice(0, 1)}) - t.index({Slice(), Slice(1)});
  return (s - t).pow(2).mean();
}

at::Tensor info_nce_loss(const at::Tensor& scores, int64_t group_size, double scale) {
  const int64_t q = scores.size(0);
  TORCH_CHECK(scores.dim() == 2 && group_size >= 1 && scores.size(1) == q * group_size,
              "InfoNCE: scores must be [Q, Q*G], got ", scores.sizes());
  at::Tensor target = at::arange(q, scores.options().dtype(at::kLong)).mul(group_size);
  return at::cross_entropy_loss(scores * scale, target);
}

double regularizer_weight(double lambda, int64_t step, int64_t warmup_steps) {
  if (warmup_steps <= 0) return lambda;
  double r = static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  return lambda * std::min(1.0, r * r);
}

double linear_schedule_lr(double peak, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  // Same as transformers' get_linear_schedule_with_warmup (lr 0 at step 0), so runs compare one to one.
  if (warmup_steps > 0 && step < warmup_steps) return peak * static_cast<double>(step) / warmup_steps;
  if (total_steps <= warmup_steps) return peak;
  double remaining = static_cast<double>(total_steps - step) / static_cast<double>(total_steps - warmup_steps);
  return peak * std::clamp(remaining, 0.0, 1.0);
}

}  // namespace l0sparse::train
