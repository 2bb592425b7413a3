#pragma once
// One native training step of an inference-free sparse retriever (docs/METHOD.md §3), on the model's device:
//   docs -> w = model.doc_vectors (fused sparse head) -> scores against inference-free query vectors
//   -> ranking loss (KL / MarginMSE / InfoNCE) + lambda(step) * FLOPS-with-l0-mask(w)
//   -> backward -> (every `grad_accumulation` micro-batches) clip, AdamW step with the linear schedule.
// The trainer owns the AdamW state and the step counter; the model is shared with the encoder binding.
#include "model/mlm_model.h"
#include "ops/flops_loss.h"

#include <ATen/ATen.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace torch::optim { class AdamW; }

namespace l0sparse::train {

class ProcessGroup;  // train/distributed.h

enum class RankingLoss { KlDistillation, MarginMse, InfoNce };

struct TrainConfig {
  RankingLoss loss = RankingLoss::KlDistillation;
  double temperature = 1.0;      // KL distillation (the paper uses 1)
  double info_nce_scale = 1.0;   // InfoNCE logit scale
  int extra_logs = 1;            // 0 = relu (SPLADE), k = l0 activation with k extra log1p
  bool decoupled = false;        // score with relu weights; the extra logs only inside the regularizer
  double lambda = 0.04;          // regularizer weight
  int64_t lambda_warmup = 10000; // T of the quadratic warm-up
  double threshold = 200;        // l0 mask t; negative = plain FLOPS on every document
  bool regularizer_per_slot = true;  // paper: mean per document slot; false: one mean over all documents
                                     // (sentence-transformers' SpladeLoss)
  double lr = 2e-5;
  double weight_decay = 0.01;    // not applied to biases and LayerNorm weights
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  int64_t warmup_steps = 6000;
  int64_t total_steps = 100000;
  double max_grad_norm = 1.0;    // <= 0 disables clipping
  int64_t grad_accumulation = 1;
  bool bfloat16 = false;         // bfloat16 autocast on the model's device (CPU or CUDA); no float16 mode
  uint64_t seed = 42;
};

struct TrainBatch {
  at::Tensor input_ids;       // [N, L] int, N = Q * G
  at::Tensor attention_mask;  // [N, L]
  int64_t group_size = 0;     // G
  at::Tensor query_indptr, query_indices, query_values;  // CSR of the Q inference-free query vectors
  at::Tensor teacher;         // [Q, G] float, or undefined
};

struct TrainMetrics {
  double loss = 0, ranking_loss = 0, regularizer_loss = 0;
  double lambda = 0, lr = 0;
  double mean_doc_nnz = 0, batch_flops = 0, mask_rate = 0;
  double grad_norm = 0;        // before clipping; 0 on micro-steps without an optimizer step
  double seconds = 0;
  int threads = 0;             // intra-op threads this step ran with (setNumThreads as seen by the worker thread)
  int64_t step = 0;            // optimizer steps done after this call
  bool optimizer_stepped = false;
};

// A masked-LM pretraining batch (train/mlm_loss.h): the inputs as masked, labels kNotPredicted (-100) except at
// the masked positions, which hold the original ids.
struct MlmBatch {
  at::Tensor input_ids;       // [B, L] int
  at::Tensor attention_mask;  // [B, L]
  at::Tensor labels;          // [B, L] int
};

struct MlmMetrics {
  double loss = 0;           // mean cross-entropy over the predicted positions
  double accuracy = 0;       // share of predicted positions whose top logit is the label
  int64_t predicted = 0;
  double lr = 0, grad_norm = 0, seconds = 0;
  int threads = 0;
  int64_t step = 0;
  bool optimizer_stepped = false;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<model::MlmModel> model, TrainConfig config);
  ~Trainer();

  // The batch may be on any device (normally the CPU, where its checks run); it is moved to the model's device.
  TrainMetrics step(const TrainBatch& batch);
  // One masked-LM pretraining step (micro-step with grad_accumulation) with the same optimizer, schedule,
  // clipping and checkpoints as step(); the retrieval settings (loss, lambda, threshold, activation) are unused.
  // One process only: refused when a process group is attached.
  MlmMetrics mlm_step(const MlmBatch& batch);

  // Data-parallel training (train/distributed.h): the first step copies rank 0's parameters to every rank;
  // each step computes the loss over the global batch (this rank's shard plus the others') and sums
  // gradients over ranks before clipping. Metrics become global. Null detaches. The constructor attaches the
  // process's default group (train::default_process_group()) when one is set.
  void set_process_group(std::shared_ptr<ProcessGroup> group);

  // Optimizer state, step counters and RNG state: the CPU generator's, and the model's CUDA device's when it is on
  // one (the model is saved separately by save_mlm_model). Loading maps the optimizer state to the model's device.
  void save_state(const std::string& dir) const;
  void load_state(const std::string& dir);
  // The model as a transformers folder, between steps (lock order: trainer, then the model's parameters).
  void save_model(const std::string& dir) const;
  // A checkpoint folder's weights into the model, then its optimizer state; returns the optimizer steps.
  int64_t load_checkpoint(const std::string& dir);

  int64_t optimizer_steps() const { return steps_; }
  const TrainConfig& config() const { return config_; }
  std::mutex& mutex() { return mutex_; }

 private:
  void check_batch(const TrainBatch& batch) const;
  void check_process_group_device() const;

  // The phases of step(), in order (the caller holds both locks).
  struct Losses {
    at::Tensor ranking, total;
    ops::FlopsLoss regularizer;
    double lambda = 0;
    int64_t local_queries = 0, global_queries = 0, global_docs = 0;
  };
  at::Tensor ranking_loss(const TrainBatch& b, const at::Tensor& doc_weights) const;
  Losses losses(const TrainBatch& b, const at::Tensor& doc_weights) const;
  TrainMetrics metrics(const TrainBatch& b, const at::Tensor& doc_weights, const Losses& l) const;
  struct OptimizerUpdate {
    double lr = 0, grad_norm = 0;
    bool stepped = false;
  };
  OptimizerUpdate apply_gradients();
  template <class Metrics>
  void backward_and_update(const at::Tensor& loss, std::chrono::steady_clock::time_point t0, Metrics& m);

  std::shared_ptr<model::MlmModel> model_;
  TrainConfig config_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t steps_ = 0;        // optimizer steps
  int64_t micro_steps_ = 0;  // micro-batches since the last optimizer step
  std::shared_ptr<ProcessGroup> dist_;  // null: single process
  bool broadcast_pending_ = false;       // rank 0's parameters not yet copied to the other ranks
  std::mutex mutex_;
};

// Key/value settings from any source (a JS object at the N-API boundary). Each getter is called only for a
// key that has() reports, and throws naming the key when the value has the wrong type.
class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  virtual std::vector<std::string> keys() const = 0;
  virtual bool has(const std::string& key) const = 0;
  virtual double number(const std::string& key) const = 0;
  virtual bool boolean(const std::string& key) const = 0;
  virtual std::string text(const std::string& key) const = 0;
};

// The train-step keys, in the order of the one table that reads them (native/train/train_config.cc).
const std::vector<std::string>& train_config_keys();

// Reads a TrainConfig; unknown keys and out-of-range values are errors naming the key.
TrainConfig read_train_config(const ConfigSource& source);

}  // namespace l0sparse::train
