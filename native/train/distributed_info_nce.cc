#include "train/distributed_info_nce.h"

#include "train/losses.h"

#include <torch/csrc/autograd/grad_mode.h>

namespace l0sparse::train {

namespace {

// Every rank's queries (CSR) concatenated in rank order, as one process would hold them. One all-reduce of
// zero-padded [rows | indices | values] in double (token ids and float32 weights are exact in double).
struct GlobalQueries {
  at::Tensor indptr, indices, values;  // CSR over Q_global queries
};

GlobalQueries gather_queries(ProcessGroup& pg, const at::Tensor& indptr, const at::Tensor& indices,
                             const at::Tensor& values, int64_t q_offset, int64_t q_global, int64_t nnz_offset,
                             int64_t nnz_global) {
  at::NoGradGuard no_grad;
  const int64_t q_local = indptr.size(0) - 1, nnz = indices.numel();
  at::Tensor packed = at::zeros({3 * nnz_global}, at::kDouble);
  if (nnz) {
    at::Tensor local_rows = at::repeat_interleave(at::arange(q_local, at::kLong) + q_offset, indptr.to(at::kLong).diff());
    packed.narrow(0, nnz_offset, nnz).copy_(local_rows);
    packed.narrow(0, nnz_global + nnz_offset, nnz).copy_(indices);
    packed.narrow(0, 2 * nnz_global + nnz_offset, nnz).copy_(values);
  }
  pg.all_reduce_sum(packed, "InfoNCE query all-gather");
  at::Tensor rows = packed.narrow(0, 0, nnz_global).to(at::kLong);
  GlobalQueries g;
  g.indices = packed.narrow(0, nnz_global, nnz_global).to(at::kLong);
  g.values = packed.narrow(0, 2 * nnz_global, nnz_global).to(values.scalar_type());
  g.indptr = at::cat({at::zeros({1}, at::kLong), at::bincount(rows, {}, q_global).cumsum(0)});
  return g;
}

}  // namespace

at::Tensor distributed_info_nce_loss(ProcessGroup& pg, const at::Tensor& query_indptr, const at::Tensor& query_indices,
                                     const at::Tensor& query_values, const at::Tensor& docs, int64_t group_size,
                                     double scale) {
  TORCH_CHECK(query_indptr.dim() == 1 && query_indptr.size(0) >= 1 && docs.dim() == 2,
              "distributed InfoNCE: bad query CSR or document shape");
  const int world = pg.world_size(), rank = pg.rank();
  const int64_t q_local = query_indptr.size(0) - 1, d_local = docs.size(0);
  TORCH_CHECK(d_local == q_local * group_size, "distributed InfoNCE: ", d_local, " documents for ", q_local,
              " queries of ", group_size);

  // Sizes of every rank: [Q_r | nnz_r | G_r] per rank.
  at::Tensor sizes = at::zeros({3 * world}, at::kLong);
  sizes[rank] = q_local;
  sizes[world + rank] = query_indices.numel();
  sizes[2 * world + rank] = group_size;
  pg.all_reduce_sum(sizes, "InfoNCE size all-reduce");
  auto s = sizes.accessor<int64_t, 1>();
  int64_t q_offset = 0, q_global = 0, nnz_offset = 0, nnz_global = 0;
  for (int r = 0; r < world; ++r) {
    TORCH_CHECK(s[2 * world + r] == group_size, "distributed InfoNCE: rank ", r, " has groups of ", s[2 * world + r],
                " documents, this rank (", rank, ") of ", group_size, "; every rank needs the same group size");
    if (r < rank) {
      q_offset += s[r];
      nnz_offset += s[world + r];
    }
    q_global += s[r];
    nnz_global += s[world + r];
  }

  GlobalQueries g = gather_queries(pg, query_indptr, query_indices, query_values, q_offset, q_global, nnz_offset,
                                   nnz_global);
  // Every global query against this rank's documents: the columns this rank owns, with their graph.
  at::Tensor local = sparse_query_scores(g.indptr, g.indices, g.values, docs);  // [Q_global, D_local]

  const int64_t d_offset = q_offset * group_size, d_global = q_global * group_size;
  at::Tensor all = at::zeros({q_global, d_global}, local.options().requires_grad(false));
  all.narrow(1, d_offset, d_local).copy_(local.detach());
  pg.all_reduce_sum(all, "InfoNCE score all-gather");
  // The other ranks' columns are constants here; their gradients are taken on their own ranks, so the sum of
  // the ranks' gradients is the gradient of one process on the concatenated batch.
  at::Tensor full = at::cat({all.narrow(1, 0, d_offset), local, all.narrow(1, d_offset + d_local, d_global - d_offset - d_local)}, 1);
  return info_nce_loss(full, group_size, scale);
}

}  // namespace l0sparse::train
