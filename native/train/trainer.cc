#include "train/trainer.h"

#include "common/file_io.h"
#include "model/device.h"
#include "model/files.h"
#include "model/json.h"
#include "model/safetensors.h"
#include "ops/flops_loss.h"
#include "train/distributed.h"
#include "train/distributed_info_nce.h"
#include "train/losses.h"
#include "train/mlm_loss.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace l0sparse::train {
namespace {

// Biases and LayerNorm weights get no weight decay (as transformers' Trainer does).
bool exempt_from_decay(const std::string& name) {
  return name.ends_with("bias") || name.find("LayerNorm") != std::string::npos ||
         name.find("layer_norm") != std::string::npos;
}

at::Tensor chain_log1p(at::Tensor x, int times) {
  for (int i = 0; i < times; ++i) x = at::log1p(x);
  return x;
}

// Batch FLOPS of docs/METHOD.md §5 on this batch: sum_j p_q(j) p_d(j).
double batch_flops(const at::Tensor& docs, const TrainBatch& b) {
  const int64_t q = b.query_indptr.size(0) - 1;
  const at::TensorOptions options = docs.options().dtype(at::kDouble);  // on the documents' device
  at::Tensor pd = docs.detach().gt(0).to(at::kDouble).mean(0);
  at::Tensor pq = at::zeros({docs.size(1)}, options);
  if (b.query_indices.numel())
    pq.index_add_(0, b.query_indices.to(at::kLong), at::full({b.query_indices.numel()}, 1.0 / q, options));
  return (pq.clamp_max(1.0) * pd).sum().item<double>();
}

// The batch on the model's device. On the CPU every tensor is returned as is (Tensor::to is then a no-op).
TrainBatch on_device(const TrainBatch& b, const at::Device& device) {
  TrainBatch out = b;
  for (at::Tensor* t : {&out.input_ids, &out.attention_mask, &out.query_indptr, &out.query_indices, &out.query_values,
                        &out.teacher})
    if (t->defined()) *t = t->to(device);
  return out;
}

// The default generator of a CUDA device (dropout draws there); the CPU one is handled separately.
at::Generator cuda_generator(const at::Device& device) {
  return at::globalContext().defaultGenerator(device);
}

}  // namespace

Trainer::Trainer(std::shared_ptr<model::MlmModel> model, TrainConfig config)
    : model_(std::move(model)), config_(config) {
  TORCH_CHECK(model_, "trainer: no model");
  std::vector<at::Tensor> decay, no_decay;
  for (auto& item : model_->named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    (exempt_from_decay(item.key()) ? no_decay : decay).push_back(item.value());
  }
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(config_.lr)
                                                            .betas({config_.adam_beta1, config_.adam_beta2})
                                                            .eps(config_.adam_eps)
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(config_.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(config_.lr));
  at::manual_seed(config_.seed);  // the CPU generator and every CUDA device's
  dist_ = default_process_group();  // data parallel when the process joined a group (train/distributed.h)
  check_process_group_device();
  broadcast_pending_ = dist_ != nullptr;
}

// The collectives are Gloo's on CPU tensors (train/distributed.h); docs/DISTRIBUTED.md says why a GPU model is
// refused rather than copied to the CPU around every collective.
void Trainer::check_process_group_device() const {
  TORCH_CHECK(!dist_ || model_->device().is_cpu(), "trainer: data-parallel training (", dist_ ? dist_->world_size() : 0,
              " ranks) runs its collectives with Gloo on CPU tensors and does not support a model on ",
              model::device_name(model_->device()), "; train on one GPU (no --nproc / WORLD_SIZE) or use device 'cpu' "
              "(docs/DISTRIBUTED.md)");
}

Trainer::~Trainer() = default;

void Trainer::check_batch(const TrainBatch& b) const {
  TORCH_CHECK(b.group_size >= 1, "trainStep: group size must be >= 1");
  TORCH_CHECK(b.input_ids.dim() == 2 && b.input_ids.size(0) % b.group_size == 0,
              "trainStep: ", b.input_ids.size(0), " documents do not split into groups of ", b.group_size);
  const int64_t q = b.input_ids.size(0) / b.group_size;
  TORCH_CHECK(b.query_indptr.dim() == 1 && b.query_indptr.size(0) == q + 1, "trainStep: ", q,
              " queries expected (documents / group size) but the query CSR has ", b.query_indptr.size(0) - 1, " rows");
  model::check_encoder_inputs(model_->config(), b.input_ids, b.attention_mask);
  // An empty document would get an all-zero vector and still weigh in the loss: reject it.
  at::Tensor empty = b.attention_mask.ne(0).sum(1).eq(0).nonzero();
  TORCH_CHECK(empty.numel() == 0, "trainStep: document ", empty.numel() ? empty[0][0].item<int64_t>() : -1,
              " has no tokens (its attention mask is all 0); drop empty documents from the training data");
  if (config_.loss != RankingLoss::InfoNce) {
    TORCH_CHECK(b.teacher.defined(), "trainStep: the ", config_.loss == RankingLoss::KlDistillation ? "KL" : "MarginMSE",
                " loss needs teacher scores for every document");
    TORCH_CHECK(b.teacher.dim() == 2 && b.teacher.size(0) == q && b.teacher.size(1) == b.group_size,
                "trainStep: teacher scores must be [", q, ", ", b.group_size, "], got ", b.teacher.sizes());
    TORCH_CHECK(at::isfinite(b.teacher).all().item<bool>(), "trainStep: teacher scores contain NaN or infinity");
  }
  if (config_.loss == RankingLoss::MarginMse) TORCH_CHECK(b.group_size >= 2, "trainStep: MarginMSE needs groups of >= 2 documents");
}

TrainMetrics Trainer::step(const TrainBatch& host_batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_lock<std::shared_mutex> parameters(model_->parameters_mutex());  // lock order: trainer, then model
  check_batch(host_batch);  // on the tensors as given (the CPU): its checks read values
  const TrainBatch b = on_device(host_batch, model_->device());
  const auto t0 = std::chrono::steady_clock::now();
  if (broadcast_pending_) {  // on the worker thread: a collective may wait for the other ranks
    dist_->broadcast_from_rank0(model_->parameters());
    broadcast_pending_ = false;
  }
  torch::autograd::AutoGradMode grad_mode(true);
  model_->train();

  const at::Tensor w = model_->doc_vectors(b.input_ids, b.attention_mask, config_.decoupled ? 0 : config_.extra_logs,
                                           config_.bfloat16);
  const Losses l = losses(b, w);
  TrainMetrics m = metrics(b, w, l);
  TORCH_CHECK(std::isfinite(m.loss), "trainStep: the loss is not finite (", m.loss, ") at step ", steps_,
              " (ranking ", m.ranking_loss, ", regularizer ", m.regularizer_loss,
              "); parameters were not updated — lower the learning rate or check the data");
  backward_and_update(l.total, t0, m);
  return m;
}

MlmMetrics Trainer::mlm_step(const MlmBatch& host_batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_lock<std::shared_mutex> parameters(model_->parameters_mutex());  // lock order: trainer, then model
  TORCH_CHECK(!dist_, "mlmStep: masked-LM pretraining runs in one process (a process group is attached)");
  model::check_encoder_inputs(model_->config(), host_batch.input_ids, host_batch.attention_mask);
  const auto t0 = std::chrono::steady_clock::now();
  torch::autograd::AutoGradMode grad_mode(true);
  model_->train();
  const MaskedLmLoss l = masked_lm_loss(*model_, host_batch.input_ids, host_batch.attention_mask, host_batch.labels,
                                        config_.bfloat16);
  MlmMetrics m;
  m.loss = l.loss.item<double>();
  m.accuracy = l.accuracy;
  m.predicted = l.predicted;
  TORCH_CHECK(std::isfinite(m.loss), "mlmStep: the loss is not finite (", m.loss, ") at step ", steps_,
              "; parameters were not updated — lower the learning rate");
  backward_and_update(l.loss, t0, m);
  return m;
}

// The end of both steps: backward of the micro-batch's share, the optimizer update when the accumulation is
// complete, and the fields every step's metrics report.
template <class Metrics>
void Trainer::backward_and_update(const at::Tensor& loss, std::chrono::steady_clock::time_point t0, Metrics& m) {
  (loss / static_cast<double>(config_.grad_accumulation)).backward();
  ++micro_steps_;
  const OptimizerUpdate update = apply_gradients();
  m.lr = update.lr;
  m.grad_norm = update.grad_norm;
  m.optimizer_stepped = update.stepped;
  m.step = steps_;
  m.threads = at::get_num_threads();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

at::Tensor Trainer::ranking_loss(const TrainBatch& b, const at::Tensor& w) const {
  // Every local query against every local document; the data-parallel InfoNCE scores the global batch itself.
  auto scores = [&] { return sparse_query_scores(b.query_indptr, b.query_indices, b.query_values, w); };
  switch (config_.loss) {
    case RankingLoss::KlDistillation:
      return kl_distillation_loss(group_scores(scores(), b.group_size), b.teacher, config_.temperature);
    case RankingLoss::MarginMse:
      return margin_mse_loss(group_scores(scores(), b.group_size), b.teacher);
    case RankingLoss::InfoNce:
      // Data parallel: every rank's documents are negatives for every query (train/distributed_info_nce.h).
      return dist_ ? distributed_info_nce_loss(*dist_, b.query_indptr, b.query_indices, b.query_values, w, b.group_size,
                                               config_.info_nce_scale)
                   : info_nce_loss(scores(), b.group_size, config_.info_nce_scale);
  }
  TORCH_CHECK(false, "trainStep: unknown ranking loss");
}

Trainer::Losses Trainer::losses(const TrainBatch& b, const at::Tensor& w) const {
  Losses l;
  l.ranking = ranking_loss(b, w);
  l.lambda = regularizer_weight(config_.lambda, steps_, config_.lambda_warmup);
  const at::Tensor w_reg = config_.decoupled ? chain_log1p(w, config_.extra_logs) : w;
  const int64_t reg_groups = config_.regularizer_per_slot ? b.group_size : 1;
  l.local_queries = l.global_queries = b.input_ids.size(0) / b.group_size;
  l.global_docs = b.input_ids.size(0);
  if (dist_) {
    // Data parallel (train/distributed.h): the regularizer's value is the FLOPS of the global batch with the
    // gradient into this shard only, and this shard's mean ranking loss is weighted by Q_local / Q_global, so
    // that summing gradients over ranks gives the gradient of one process on the concatenated batch.
    DistributedLoss d = distributed_flops_loss(*dist_, w_reg, reg_groups, config_.threshold, l.local_queries);
    l.regularizer = d.regularizer;
    l.global_queries = d.global_queries;
    l.global_docs = d.global_docs;
    // The distributed InfoNCE loss is already the global mean (its gradient flows only into this shard).
    if (config_.loss != RankingLoss::InfoNce)
      l.ranking = l.ranking * (static_cast<double>(l.local_queries) / static_cast<double>(l.global_queries));
  } else {
    l.regularizer = ops::flops_loss(w_reg, reg_groups, config_.threshold);
  }
  l.total = l.ranking + l.regularizer.loss * l.lambda;
  return l;
}

TrainMetrics Trainer::metrics(const TrainBatch& b, const at::Tensor& w, const Losses& l) const {
  TrainMetrics m;
  m.ranking_loss = l.ranking.item<double>();
  m.regularizer_loss = l.regularizer.loss.item<double>();
  m.loss = l.total.item<double>();
  m.lambda = l.lambda;
  m.mean_doc_nnz = l.regularizer.mean_nnz;
  m.mask_rate = l.regularizer.masked_fraction;
  m.batch_flops = batch_flops(w, b);
  if (dist_) {  // global metrics (the same on every rank, so a non-finite loss stops every rank alike)
    const double ranking_share = config_.loss == RankingLoss::InfoNce
                                     ? m.ranking_loss * static_cast<double>(l.local_queries) / static_cast<double>(l.global_queries)
                                     : m.ranking_loss;
    GlobalBatchStats g = distributed_batch_stats(*dist_, ranking_share, w, b.query_indices, l.global_docs, l.global_queries);
    m.ranking_loss = g.ranking_loss;
    m.batch_flops = g.batch_flops;
    m.loss = m.ranking_loss + l.lambda * m.regularizer_loss;
  }
  return m;
}

// After backward(): once grad_accumulation micro-batches are in, one AdamW step at the scheduled learning rate
// (gradients summed over ranks, then clipped).
Trainer::OptimizerUpdate Trainer::apply_gradients() {
  OptimizerUpdate m;
  m.lr = linear_schedule_lr(config_.lr, steps_, config_.warmup_steps, config_.total_steps);
  if (micro_steps_ < config_.grad_accumulation) return m;
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(m.lr);
  std::vector<at::Tensor> params = model_->parameters();
  if (dist_) dist_->all_reduce_gradients(params);  // SUM over ranks, before clipping (train/distributed.h)
  const double max_norm = config_.max_grad_norm > 0 ? config_.max_grad_norm : INFINITY;
  m.grad_norm = torch::nn::utils::clip_grad_norm_(params, max_norm);
  if (!std::isfinite(m.grad_norm)) {
    optimizer_->zero_grad();
    micro_steps_ = 0;
    TORCH_CHECK(false, "trainStep: the gradient norm is not finite at step ", steps_, "; parameters were not updated");
  }
  optimizer_->step();
  optimizer_->zero_grad();
  ++steps_;
  micro_steps_ = 0;
  m.stepped = true;
  return m;
}

void Trainer::set_process_group(std::shared_ptr<ProcessGroup> group) {
  std::lock_guard<std::mutex> lock(mutex_);
  TORCH_CHECK(micro_steps_ == 0, "trainer: attach a process group between optimizer steps");
  dist_ = std::move(group);
  check_process_group_device();
  broadcast_pending_ = dist_ != nullptr;  // the next step starts every rank from rank 0's weights
}

void Trainer::save_state(const std::string& dir) const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mutex_));
  TORCH_CHECK(micro_steps_ == 0, "trainer: save the state between optimizer steps (", micro_steps_,
              " accumulated micro-batches pending)");
  model::make_directories(dir);
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  archive.write("l0sparse_steps", at::tensor({steps_}, at::kLong));
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  archive.write("l0sparse_rng", generator.get_state());
  // On a GPU, dropout draws from that device's generator: its state makes a resumed run draw the same masks.
  const at::Device device = model_->device();
  if (device.is_cuda()) {
    at::Generator cuda = cuda_generator(device);
    std::lock_guard<std::mutex> rng_lock(cuda.mutex());
    archive.write("l0sparse_cuda_rng", cuda.get_state());
  }
  common::AtomicFileWriter out(model::join_path(dir, "optimizer.pt"));
  archive.save_to([&out](const void* data, size_t size) {
    out.write(data, size);
    return size;
  });
  out.commit();
}

void Trainer::save_model(const std::string& dir) const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mutex_));
  std::shared_lock<std::shared_mutex> parameters(model_->parameters_mutex());
  model::save_mlm_model(*model_, dir);
}

int64_t Trainer::load_checkpoint(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::unique_lock<std::shared_mutex> parameters(model_->parameters_mutex());
    model_->load_checkpoint(model::read_checkpoint_dir(dir), dir);
  }
  load_state(dir);  // takes the trainer lock itself
  return steps_;
}

void Trainer::load_state(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string path = model::join_path(dir, "optimizer.pt");
  TORCH_CHECK(model::file_exists(path), "trainer: no optimizer state at ", path);
  torch::serialize::InputArchive archive;
  // The optimizer state goes where the parameters are, whichever device saved it (a CPU run resumes on a GPU).
  const at::Device device = model_->device();
  archive.load_from(path, device);
  optimizer_->load(archive);
  at::Tensor steps, rng, cuda_rng;
  archive.read("l0sparse_steps", steps);
  archive.read("l0sparse_rng", rng);
  steps_ = steps.item<int64_t>();
  micro_steps_ = 0;
  {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the default generator's impl
    std::lock_guard<std::mutex> rng_lock(generator.mutex());
    generator.set_state(rng.to(at::kCPU, at::kByte));  // generator states are CPU byte tensors
  }
  // A checkpoint of a CPU run has no GPU generator state: the device's generator then keeps its seeded state.
  if (device.is_cuda() && archive.try_read("l0sparse_cuda_rng", cuda_rng)) {
    at::Generator cuda = cuda_generator(device);
    std::lock_guard<std::mutex> rng_lock(cuda.mutex());
    cuda.set_state(cuda_rng.to(at::kCPU, at::kByte));
  }
}

}  // namespace l0sparse::train
