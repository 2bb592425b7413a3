#pragma once
// Ranking losses of docs/METHOD.md §3 over inference-free scores. Every function is built from differentiable
// ATen ops, so gradients reach the document weights through autograd.
//
// Layout: Q queries, each with a group of G documents; documents are numbered q*G + g, and g = 0 is the
// positive (for MarginMSE and InfoNCE).
#include <ATen/ATen.h>

namespace l0sparse::train {

// scores[q, n] = sum_j query[q, j] * docs[n, j], computed only over the columns any query uses
// (queries are sparse: a few dozen tokens), so cost is O(Q*N*|U|) with U the union of query tokens.
// query_indptr/indices/values: CSR of the query vectors (int32/int32/float32), docs: [N, V] dense.
at::Tensor sparse_query_scores(const at::Tensor& query_indptr, const at::Tensor& query_indices,
                               const at::Tensor& query_values, const at::Tensor& docs);

// Scores of each query against its own group: [Q, G] from full scores [Q, Q*G].
at::Tensor group_scores(const at::Tensor& scores, int64_t group_size);

// Listwise KL(softmax(teacher/T) || softmax(student/T)) per query, mean over queries, times T^2
// (the scaling sentence-transformers' distillation loss uses; identical at the paper's T = 1).
at::Tensor kl_distillation_loss(const at::Tensor& student, const at::Tensor& teacher, double temperature);

// MSE between student and teacher margins (positive minus each negative), mean over all margins.
at::Tensor margin_mse_loss(const at::Tensor& student, const at::Tensor& teacher);

// Cross-entropy of each query against every document in the batch (in-batch + hard negatives);
// the target is the query's own positive, document q*G. scores: [Q, Q*G], multiplied by `scale`.
at::Tensor info_nce_loss(const at::Tensor& scores, int64_t group_size, double scale);

// Regularizer weight of docs/METHOD.md §3: lambda * min(1, ((step + 1) / T)^2).
double regularizer_weight(double lambda, int64_t step, int64_t warmup_steps);

// Linear warm-up to `peak` over warmup steps (peak*step/warmup), then linear decay to 0 at total_steps.
double linear_schedule_lr(double peak, int64_t step, int64_t warmup_steps, int64_t total_steps);

}  // namespace l0sparse::train
