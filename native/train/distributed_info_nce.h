#pragma once
// InfoNCE with in-batch negatives over the global batch of a data-parallel step (docs/DISTRIBUTED.md): each
// rank scores every rank's queries against its own documents, the score matrix is all-gathered, and the loss
// (the mean over all Q_global queries, the same value on every rank) back-propagates only through this
// rank's columns. Summing the ranks' gradients then gives exactly the gradient of one process on the
// concatenated batch, with every other rank's documents as negatives.
#include "train/distributed.h"

#include <ATen/ATen.h>

namespace l0sparse::train {

at::Tensor distributed_info_nce_loss(ProcessGroup& pg, const at::Tensor& query_indptr, const at::Tensor& query_indices,
                                     const at::Tensor& query_values, const at::Tensor& docs, int64_t group_size,
                                     double scale);

}  // namespace l0sparse::train
