#pragma once
// Data-parallel training across processes (docs/DISTRIBUTED.md): a c10d process group (TCPStore rendezvous +
// Gloo collectives on CPU tensors) and the pieces of the training step that must see the whole global batch.
//
// The contract is that N processes, each stepping on a contiguous shard of a global batch, reach the
// parameters one process reaches on the concatenated batch:
//   - ranking loss: each rank's mean over its Q_r queries is scaled by Q_r / Q (Q = sum of Q_r, all-reduced);
//   - FLOPS regularizer (docs/METHOD.md §3): the per-slot sums S_s,j = sum_{docs in slot s} M(d)|w_dj| are
//     all-reduced (SUM, no gradient), and each rank uses (S_local + (S_global - S_local).detach()) / N_s, so the
//     value is the global FLOPS and the gradient flows only into the local shard;
//   - gradients are summed over ranks (bucketed all-reduce) before clipping and the AdamW step.
// NCCL would be the CUDA path (c10d::ProcessGroupNCCL on CUDA tensors); this build uses Gloo on CPU tensors.
#include "ops/flops_loss.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace l0sparse::train {

struct DistributedOptions {
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int world_size = 1;
  int rank = 0;
  // Rendezvous and every collective give up after this long: a dead or stuck rank becomes an error.
  int64_t timeout_ms = 10 * 60 * 1000;
  int64_t bucket_bytes = 4 << 20;  // gradient all-reduce bucket size
};

class ProcessGroup {
 public:
  // Joins the group (rank 0 hosts the TCPStore at master_addr:master_port); blocks until all ranks arrive
  // or the timeout passes.
  explicit ProcessGroup(const DistributedOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  const DistributedOptions& options() const { return options_; }

  // In-place SUM over ranks of one contiguous CPU tensor. `what` names the collective in errors.
  void all_reduce_sum(at::Tensor& tensor, const char* what);
  // Sums the .grad of `params` over ranks, flattened into buckets of about bucket_bytes per dtype. A gradient
  // that is undefined here but defined on another rank becomes zeros first (as it would be on one process).
  void all_reduce_gradients(const std::vector<at::Tensor>& params);
  // Copies rank 0's values of `tensors` (in place, bucketed) to every rank.
  void broadcast_from_rank0(const std::vector<at::Tensor>& tensors);
  void barrier();

 private:
  struct Impl;
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

// The global-batch parts of one training step on this rank's shard.
struct DistributedLoss {
  ops::FlopsLoss regularizer;  // loss: global value, gradient into the local shard; stats: global
  int64_t global_queries = 0;  // Q = sum over ranks of this micro-batch's queries
  int64_t global_docs = 0;
};

// FLOPS with the l0 mask (ops/flops_loss.h) over the all-gathered batch. rows = documents / group_size,
// group_size = the number of slots (1 = one mean over all documents); queries_local = this shard's Q.
DistributedLoss distributed_flops_loss(ProcessGroup& pg, const at::Tensor& weights, int64_t group_size,
                                       double threshold, int64_t queries_local);

// Global batch FLOPS (docs/METHOD.md §5) and the global ranking loss: sum_j p_q(j) p_d(j) with p_d, p_q over all
// ranks' documents and queries. ranking_scaled is this rank's ranking loss already scaled by Q_r / Q.
struct GlobalBatchStats {
  double ranking_loss = 0;
  double batch_flops = 0;
};
GlobalBatchStats distributed_batch_stats(ProcessGroup& pg, double ranking_scaled, const at::Tensor& docs,
                                         const at::Tensor& query_indices, int64_t global_docs,
                                         int64_t global_queries);

// The process's group, like torch.distributed's default group: set by the binding's processGroupInit; every
// Trainer constructed while it is set trains data-parallel over it. Null = single process.
void set_default_process_group(std::shared_ptr<ProcessGroup> group);
std::shared_ptr<ProcessGroup> default_process_group();

// Options from MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK (and L0SPARSE_DIST_TIMEOUT_MS); errors name the
// variable that is missing or malformed.
DistributedOptions distributed_options_from_env();

}  // namespace l0sparse::train
