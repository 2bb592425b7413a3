#pragma once
// BERT / DistilBERT masked-LM document encoder (docs/METHOD.md §1) as a torch::nn::Module:
//   ids [B,L] -> embeddings -> post-LN transformer layers (scaled-dot-product attention with a padding
//   mask, FFN) -> MLM-head transform (dense D->D, activation, LayerNorm) -> decoder D->V whose weight IS
//   the word-embedding table (tied), bias separate -> sparse head (masked max-pool + activation) -> w [B,V].
// Submodules are named after transformers' BertForMaskedLM / DistilBertForMaskedLM, so named_parameters()
// yields HF names ("bert.encoder.layer.0.attention.self.query.weight", "vocab_projector.bias", ...) and an
// optimizer (torch::optim::AdamW) can take parameters() directly; the tied decoder weight appears once.
// train() enables dropout (rates from config.json); eval() disables it.
#include "model/config.h"
#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace l0sparse::model {

// Parameter holders computed with ATen functional ops (at::linear, at::layer_norm, at::embedding).
struct LinearLayer : torch::nn::Module {
  LinearLayer(int64_t in, int64_t out, bool with_bias = true);
  // Inference in float32 runs through the process's GEMM backend (ops/gemm_backend.h); training through ATen.
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight, bias;
};

struct NormLayer : torch::nn::Module {
  NormLayer(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight, bias;
  double eps;
};

struct EmbeddingTable : torch::nn::Module {
  EmbeddingTable(int64_t rows, int64_t dim);
  at::Tensor weight;
};

struct EncoderLayer {
  std::shared_ptr<LinearLayer> query, key, value, attention_out;
  std::shared_ptr<NormLayer> attention_norm;
  std::shared_ptr<LinearLayer> ffn_in, ffn_out;
  std::shared_ptr<NormLayer> output_norm;
};

class MlmModel : public torch::nn::Module {
 public:
  // Builds the module tree with transformers' initialisation (normal(0, initializer_range) weights, zero
  // biases, unit LayerNorms, a zero padding row; DistilBERT's sinusoidal table when configured).
  // Random draws use the default generator: seed it with at::manual_seed for reproducible models.
  explicit MlmModel(MlmConfig config);

  const MlmConfig& config() const { return config_; }
  // The device of the parameters (model/device.h); inputs on any device are moved there by the forward.
  at::Device device() const { return decoder_bias_.device(); }
  // Moves every parameter to `device` (a no-op when already there). torch::nn::Module::to swaps each registered
  // parameter's data in place (Tensor::set_data), so the handles this class keeps (LinearLayer::weight,
  // decoder_bias_, ...) are the same TensorImpls and follow; move_to checks that they did. Call it before an
  // optimizer takes the parameters, and not while another thread uses the model.
  void move_to(const at::Device& device);
  // Guards the parameter values across threads: encode and save hold it shared, a training step, a checkpoint
  // load or an initialisation hold it exclusively, so an encode sees the parameters of before or after a step,
  // never a mix. (Held by the callers in binding/ and train/, not inside the model's own methods.)
  std::shared_mutex& parameters_mutex() const { return parameters_mutex_; }

  // ids [B,L] (int32/int64), attention_mask [B,L] (nonzero = real token) -> decoder input [B,L,D].
  at::Tensor head_hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask);
  // Full MLM logits [B,L,V] (materialised: for tests and inspection, not for encoding).
  at::Tensor logits(const at::Tensor& input_ids, const at::Tensor& attention_mask);
  // MLM logits [M,V] (float32, differentiable) at M positions only — flat indices b*L + i into [B,L] — so that
  // masked-LM pretraining never projects the unmasked tokens onto the vocabulary. bfloat16: the encoder and
  // the projection under bfloat16 autocast (as doc_vectors in training).
  at::Tensor position_logits(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                             const at::Tensor& positions, bool bfloat16 = false);
  // Document vectors w [B,V] = f(max_i mask_i * z_i) with extra_logs as in ops/activation.h; differentiable.
  // bfloat16 = true runs the GEMMs in bfloat16 (float32 accumulation) and the head in bfloat16; the result is
  // float32, on the model's device. With autograd (training) that is autocast on the model's device; without
  // (encode) the same split with cached bf16 weights (bf16_copy), so no weight is cast per call.
  at::Tensor doc_vectors(const at::Tensor& input_ids, const at::Tensor& attention_mask, int extra_logs,
                         bool bfloat16 = false);
  // Inference: doc_vectors without dropout and without autograd, whatever mode the module is in (a trainer
  // sharing this model may have left it in train mode). Does not change the module's mode. Parameters are
  // read in place: do not run it concurrently with an optimizer step on the same model.
  // pack: when some rows are padded and every row's mask is a prefix of ones (how tokenized batches are laid
  // out), the documents are concatenated without padding ([tokens, D] through every GEMM, attention per
  // document: model/packed_forward.cc); otherwise, or with pack = false, the padded [B, L] forward runs.
  at::Tensor encode(const at::Tensor& input_ids, const at::Tensor& attention_mask, int extra_logs,
                    bool bfloat16 = false, bool pack = true);

  // The tied decoder: weight = word embeddings [V,D], bias [V].
  const at::Tensor& decoder_weight() const { return word_embeddings_->weight; }
  const at::Tensor& decoder_bias() const { return decoder_bias_; }

  // Copies a checkpoint (HF names) into the parameters. Tensors named as tied aliases of the decoder
  // (cls.predictions.decoder.weight/bias, vocab_projector.weight) and the heads transformers itself
  // ignores for a masked LM (bert.pooler.*, cls.seq_relationship.*, *.position_ids) are accepted, and
  // TF-era LayerNorm.gamma/beta names are read as weight/bias (transformers' legacy renaming);
  // anything else missing, extra, mis-shaped or non-floating is an error naming the tensors and `source`.
  void load_checkpoint(const TensorMap& tensors, const std::string& source);

  // HF-named float32 CPU tensors exactly as transformers' save_pretrained writes them (tied weight once).
  std::vector<std::pair<std::string, at::Tensor>> checkpoint_tensors() const;

 private:
  at::Tensor activation(const at::Tensor& x) const;
  // bf16_gemms: every GEMM in bfloat16 (weights from bf16_copy, activations cast at the GEMM, float32
  // accumulation inside it); residual stream, LayerNorms and attention masks stay float32 (autocast's split).
  at::Tensor forward_hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask, bool train,
                            bool bf16_gemms = false);
  // y = x W^T + b of one layer, in bfloat16 when bf16_gemms (the result is then bfloat16).
  at::Tensor dense(const LinearLayer& layer, const at::Tensor& x, bool bf16_gemms) const;
  // A bfloat16 copy of parameter p for inference, made once and re-made only when p changed since (its
  // version counter moved: an optimizer step, a checkpoint load) or its storage moved (move_to).
  at::Tensor bf16_copy(const at::Tensor& p) const;
  at::Tensor doc_vectors_impl(const at::Tensor& input_ids, const at::Tensor& attention_mask, int extra_logs,
                              bool bfloat16, bool train, bool pack = false);
  // Inference forward of packed documents (model/packed_forward.cc): ids [B,L] on the model's device, keep
  // [B,L] bool (a prefix of true per row); returns the head input [B,L,D] (padding rows zero, never read).
  at::Tensor forward_hidden_packed(const at::Tensor& ids, const at::Tensor& keep, bool bf16_gemms);
  // Whether to run the packed forward for this mask: some padding, and every row a prefix of real tokens.
  static bool packable(const at::Tensor& keep);
  at::Tensor attention(const EncoderLayer& layer, const at::Tensor& x, const at::Tensor& additive_mask,
                       bool train, bool bf16_gemms) const;

  MlmConfig config_;
  mutable std::shared_mutex parameters_mutex_;
  std::shared_ptr<EmbeddingTable> word_embeddings_, position_embeddings_, token_type_embeddings_;
  std::shared_ptr<NormLayer> embedding_norm_;
  std::vector<EncoderLayer> layers_;
  std::shared_ptr<LinearLayer> head_dense_;
  std::shared_ptr<NormLayer> head_norm_;
  at::Tensor decoder_bias_;
  std::string decoder_bias_name_;
  struct Bf16Copy {
    int64_t version;
    const void* source;
    at::Tensor copy;
  };
  mutable std::mutex bf16_copies_mutex_;
  mutable std::unordered_map<const c10::TensorImpl*, Bf16Copy> bf16_copies_;
};

// Checks ids/mask against the model: 2-D [B,L] with B, L >= 1, equal shapes, integer ids in
// [0, vocab_size), L <= max_position_embeddings. Errors name the offending value.
void check_encoder_inputs(const MlmConfig& config, const at::Tensor& input_ids, const at::Tensor& attention_mask);

// Loads config.json + model.safetensors (or the sharded index) from a transformers model directory, then
// moves the model to `device` (the checkpoint is always read into CPU memory first).
std::shared_ptr<MlmModel> load_mlm_model(const std::string& dir, const at::Device& device = at::kCPU);

// Writes config.json + model.safetensors (each atomically) so that transformers' from_pretrained loads it.
void save_mlm_model(const MlmModel& model, const std::string& dir);

}  // namespace l0sparse::model
