#include "train/distributed.h"

// torch's pip wheels are built with USE_DISTRIBUTED and USE_C10D_GLOO (the Gloo backend is inside
// libtorch_cpu); the headers guard their declarations with these macros. The Gloo headers themselves are
// not shipped: native/gloo/ declares the few names ProcessGroupGloo.hpp mentions (see its README).
#ifndef USE_DISTRIBUTED
#define USE_DISTRIBUTED 1
#endif
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <c10/util/Exception.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace l0sparse::train {
namespace {

std::string error_text(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

// Groups tensors (by index) into buckets of at most `bucket_bytes` (a larger tensor is a bucket of its own),
// never mixing dtypes.
std::vector<std::vector<size_t>> make_buckets(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) {
  std::map<at::ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < tensors.size(); ++i) by_dtype[tensors[i].scalar_type()].push_back(i);
  std::vector<std::vector<size_t>> buckets;
  for (auto& [dtype, idx] : by_dtype) {
    std::vector<size_t> current;
    int64_t bytes = 0;
    for (size_t i : idx) {
      const int64_t b = tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
      if (!current.empty() && bytes + b > bucket_bytes) {
        buckets.push_back(std::move(current));
        current.clear();
        bytes = 0;
      }
      current.push_back(i);
      bytes += b;
    }
    if (!current.empty()) buckets.push_back(std::move(current));
  }
  return buckets;
}

at::Tensor flatten(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket) {
  std::vector<at::Tensor> flat;
  flat.reserve(bucket.size());
  for (size_t i : bucket) flat.push_back(tensors[i].reshape({-1}));
  return at::cat(flat);
}

void unflatten_into(const at::Tensor& flat, const std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket) {
  int64_t offset = 0;
  for (size_t i : bucket) {
    const int64_t n = tensors[i].numel();
    tensors[i].copy_(flat.narrow(0, offset, n).view(tensors[i].sizes()));
    offset += n;
  }
}

int env_int(const char* name, int lo, int hi, std::optional<int> fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    TORCH_CHECK(fallback.has_value(), "distributed: the environment variable ", name, " is not set");
    return *fallback;
  }
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  TORCH_CHECK(end && *end == '\0' && x >= lo && x <= hi, "distributed: ", name, "='", v,
              "' must be an integer in [", lo, ", ", hi, "]");
  return static_cast<int>(x);
}

}  // namespace

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

ProcessGroup::ProcessGroup(const DistributedOptions& o) : options_(o), impl_(std::make_unique<Impl>()) {
  TORCH_CHECK(o.world_size >= 1, "distributed: world size must be >= 1, got ", o.world_size);
  TORCH_CHECK(o.rank >= 0 && o.rank < o.world_size, "distributed: rank ", o.rank, " is not in [0, ", o.world_size, ")");
  TORCH_CHECK(o.master_port > 0 && o.master_port < 65536, "distributed: master port ", o.master_port, " is not a TCP port");
  TORCH_CHECK(o.timeout_ms > 0, "distributed: timeout must be positive");
  TORCH_CHECK(o.bucket_bytes > 0, "distributed: bucket size must be positive");
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(o.master_port);
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<std::size_t>(o.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    so.useLibUV = false;  // the classic TCPStore server: no dependence on how the wheel was built
    impl_->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    // Options::create_default picks the network device (GLOO_SOCKET_IFNAME if set, else the host's address).
    auto gloo_options = c10d::ProcessGroupGloo::Options::create_default(timeout);
    gloo_options->timeout = timeout;
    impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, o.rank, o.world_size, gloo_options);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "distributed: rank ", o.rank, " of ", o.world_size, " could not join the process group at ",
                o.master_addr, ":", o.master_port, " within ", o.timeout_ms / 1000.0, " s: ", error_text(e));
  }
}

ProcessGroup::~ProcessGroup() = default;

// Runs one collective; any failure (a peer that died, a timeout) becomes one clear error.
#define L0SPARSE_COLLECTIVE(what, expr)                                                                      \
  do {                                                                                                     \
    try {                                                                                                  \
      expr;                                                                                                \
    } catch (const std::exception& e) {                                                                    \
      TORCH_CHECK(false, "distributed: ", what, " failed on rank ", options_.rank, " of ", options_.world_size, \
                  " (another rank exited or stopped responding; timeout ", options_.timeout_ms / 1000.0,     \
                  " s): ", error_text(e));                                                                 \
    }                                                                                                      \
  } while (0)

void ProcessGroup::all_reduce_sum(at::Tensor& tensor, const char* what) {
  TORCH_CHECK(tensor.is_contiguous() && tensor.device().is_cpu(), "distributed: all-reduce needs a contiguous CPU tensor");
  if (options_.world_size == 1) return;
  std::vector<at::Tensor> ts{tensor};
  L0SPARSE_COLLECTIVE(what, impl_->backend->allreduce(ts, c10d::AllreduceOptions())->wait());
}

void ProcessGroup::all_reduce_gradients(const std::vector<at::Tensor>& params) {
  if (options_.world_size == 1) return;
  at::NoGradGuard no_grad;
  // Which gradients exist anywhere: the set is the same on every rank afterwards.
  at::Tensor defined = at::zeros({static_cast<int64_t>(params.size())}, at::kInt);
  auto d = defined.accessor<int, 1>();
  for (size_t i = 0; i < params.size(); ++i) d[i] = params[i].grad().defined() ? 1 : 0;
  all_reduce_sum(defined, "gradient presence all-reduce");
  std::vector<at::Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    if (d[i] == 0) continue;
    at::Tensor p = params[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  const auto buckets = make_buckets(grads, options_.bucket_bytes);
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  L0SPARSE_COLLECTIVE("gradient all-reduce", {
    for (const auto& bucket : buckets) {
      flats.push_back(flatten(grads, bucket));
      std::vector<at::Tensor> ts{flats.back()};
      works.push_back(impl_->backend->allreduce(ts, c10d::AllreduceOptions()));  // buckets overlap in Gloo's threads
    }
    for (auto& w : works) w->wait();
  });
  for (size_t b = 0; b < buckets.size(); ++b) unflatten_into(flats[b], grads, buckets[b]);
}

void ProcessGroup::broadcast_from_rank0(const std::vector<at::Tensor>& tensors) {
  if (options_.world_size == 1) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> data;
  for (const auto& t : tensors) data.push_back(t.detach());
  for (const auto& bucket : make_buckets(data, options_.bucket_bytes)) {
    at::Tensor flat = flatten(data, bucket);
    std::vector<at::Tensor> ts{flat};
    c10d::BroadcastOptions bo;
    bo.rootRank = 0;
    L0SPARSE_COLLECTIVE("parameter broadcast", impl_->backend->broadcast(ts, bo)->wait());
    if (options_.rank != 0) unflatten_into(flat, data, bucket);
  }
}

void ProcessGroup::barrier() {
  if (options_.world_size == 1) return;
  L0SPARSE_COLLECTIVE("barrier", impl_->backend->barrier(c10d::BarrierOptions())->wait());
}

DistributedLoss distributed_flops_loss(ProcessGroup& pg, const at::Tensor& weights, int64_t group_size, double threshold,
                                       int64_t queries_local) {
  TORCH_CHECK(weights.dim() == 2 && group_size >= 1 && weights.size(0) % group_size == 0,
              "distributed flops_loss: ", weights.sizes(), " documents do not form groups of ", group_size);
  const int64_t N = weights.size(0), V = weights.size(1), rows = N / group_size;
  // The same mask as ops::flops_loss: M(d) = 1[nnz(w_d) > threshold], no gradient.
  at::Tensor nnz = weights.detach().ne(0).sum(1);
  at::Tensor regularized = nnz.gt(threshold);
  at::Tensor keep = regularized.to(weights.scalar_type()).unsqueeze(1);
  at::Tensor slot_sum = (weights.abs() * keep).view({rows, group_size, V}).sum(0);  // S_local [G, V]

  // One all-reduce: [S_local (G*V), rows, queries, docs, nnz sum, masked docs], in double.
  at::Tensor packed = at::cat({slot_sum.detach().to(at::kDouble).reshape({-1}),
                               at::tensor({static_cast<double>(rows), static_cast<double>(queries_local),
                                           static_cast<double>(N), nnz.sum().item<double>(),
                                           static_cast<double>(N) - regularized.sum().item<double>()},
                                          at::kDouble)});
  pg.all_reduce_sum(packed, "FLOPS regularizer all-reduce");
  auto tail = packed.narrow(0, group_size * V, 5);
  auto t = tail.accessor<double, 1>();
  const double rows_global = t[0];
  at::Tensor s_global = packed.narrow(0, 0, group_size * V).view({group_size, V}).to(weights.scalar_type());

  DistributedLoss out;
  // Value: the global per-slot FLOPS; gradient: only through this rank's own documents.
  at::Tensor slot_mean = (slot_sum + (s_global - slot_sum.detach())) / rows_global;
  out.regularizer.loss = slot_mean.pow(2).sum();
  out.regularizer.regularized = regularized;
  out.regularizer.nnz = nnz;
  out.global_queries = static_cast<int64_t>(t[1] + 0.5);
  out.global_docs = static_cast<int64_t>(t[2] + 0.5);
  out.regularizer.mean_nnz = t[3] / t[2];
  out.regularizer.masked_fraction = t[4] / t[2];
  return out;
}

GlobalBatchStats distributed_batch_stats(ProcessGroup& pg, double ranking_scaled, const at::Tensor& docs,
                                         const at::Tensor& query_indices, int64_t global_docs, int64_t global_queries) {
  const int64_t V = docs.size(1);
  // [ranking, docs with w_j > 0 (V), queries with token j (V)]
  at::Tensor packed = at::zeros({1 + 2 * V}, at::kDouble);
  packed[0].fill_(ranking_scaled);
  packed.narrow(0, 1, V).copy_(docs.detach().gt(0).sum(0).to(at::kDouble));
  if (query_indices.numel())
    packed.narrow(0, 1 + V, V).index_add_(0, query_indices.to(at::kLong), at::ones({query_indices.numel()}, at::kDouble));
  pg.all_reduce_sum(packed, "metrics all-reduce");
  GlobalBatchStats s;
  s.ranking_loss = packed[0].item<double>();
  at::Tensor pd = packed.narrow(0, 1, V) / static_cast<double>(global_docs);
  at::Tensor pq = (packed.narrow(0, 1 + V, V) / static_cast<double>(global_queries)).clamp_max(1.0);
  s.batch_flops = (pq * pd).sum().item<double>();
  return s;
}

namespace {
std::mutex default_group_mutex;
std::shared_ptr<ProcessGroup> default_group;
}  // namespace

void set_default_process_group(std::shared_ptr<ProcessGroup> group) {
  std::lock_guard<std::mutex> lock(default_group_mutex);
  default_group = std::move(group);
}

std::shared_ptr<ProcessGroup> default_process_group() {
  std::lock_guard<std::mutex> lock(default_group_mutex);
  return default_group;
}

DistributedOptions distributed_options_from_env() {
  DistributedOptions o;
  const char* addr = std::getenv("MASTER_ADDR");
  TORCH_CHECK(addr && *addr, "distributed: the environment variable MASTER_ADDR is not set");
  o.master_addr = addr;
  o.master_port = env_int("MASTER_PORT", 1, 65535, std::nullopt);
  o.world_size = env_int("WORLD_SIZE", 1, 1 << 20, std::nullopt);
  o.rank = env_int("RANK", 0, o.world_size - 1, std::nullopt);
  o.timeout_ms = env_int("L0SPARSE_DIST_TIMEOUT_MS", 1, 1 << 30, static_cast<int>(o.timeout_ms));
  return o;
}

}  // namespace l0sparse::train
