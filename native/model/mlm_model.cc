#include "model/mlm_model.h"

#include "ops/gemm_backend.h"
#include "ops/recomputed_activation_linear.h"
#include "ops/recomputed_attention.h"
#include "ops/sparse_head.h"

#include <ATen/TensorIndexing.h>
#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <limits>

namespace l0sparse::model {
namespace {

// Registers `module` under a dotted HF path below `root`, creating plain container modules on the way,
// e.g. attach(layer, "attention.self.query", ...) gives the parameter name "...attention.self.query.weight".
template <typename M>
std::shared_ptr<M> attach(torch::nn::Module& root, const std::string& path, std::shared_ptr<M> module) {
  torch::nn::Module* parent = &root;
  std::string rest = path;
  for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    std::string part = rest.substr(0, dot);
    auto children = parent->named_children();
    if (auto* existing = children.find(part)) {
      parent = existing->get();
    } else {
      parent = parent->register_module(part, std::make_shared<torch::nn::Module>()).get();
    }
  }
  return parent->register_module(rest, std::move(module));
}

torch::nn::Module& container(torch::nn::Module& root, const std::string& path) {
  torch::nn::Module* node = &root;
  std::string rest = path + ".";
  for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    std::string part = rest.substr(0, dot);
    auto children = node->named_children();
    auto* existing = children.find(part);
    node = existing ? existing->get() : node->register_module(part, std::make_shared<torch::nn::Module>()).get();
  }
  return *node;
}

// A large negative additive bias for padded keys, finite in the attention dtype (finite keeps a row
// that is all padding from turning into NaN: softmax then spreads evenly instead).
double lowest_finite(at::ScalarType type) {
  if (type == at::kHalf) return -65504.0;
  if (type == at::kDouble) return std::numeric_limits<double>::lowest();
  return static_cast<double>(std::numeric_limits<float>::lowest());  // float32 and bfloat16 share the range
}

// DistilBERT's fixed position table: even columns sin(pos / 10000^(j/D)), odd columns cos of the same angle.
at::Tensor sinusoidal_table(int64_t positions, int64_t dim) {
  at::Tensor pos = at::arange(positions, at::kDouble).unsqueeze(1);
  at::Tensor pair = at::floor(at::arange(dim, at::kDouble) / 2) * 2;
  at::Tensor angle = pos / at::pow(10000.0, pair / static_cast<double>(dim));
  at::Tensor table = at::empty({positions, dim}, at::kDouble);
  using at::indexing::Slice;
  table.index_put_({Slice(), Slice(0, at::indexing::None, 2)}, at::sin(angle.index({Slice(), Slice(0, at::indexing::None, 2)})));
  table.index_put_({Slice(), Slice(1, at::indexing::None, 2)}, at::cos(angle.index({Slice(), Slice(1, at::indexing::None, 2)})));
  return table.to(at::kFloat);
}

// Enables autocast to bfloat16 on one device type (the model's: CPU or CUDA) for one forward, restoring the
// thread's previous state after. bfloat16 (not float16) on both: its float32 range needs no loss scaler.
class BFloat16Autocast {
 public:
  explicit BFloat16Autocast(at::DeviceType type)
      : type_(type),
        was_enabled_(at::autocast::is_autocast_enabled(type)),
        previous_dtype_(at::autocast::get_autocast_dtype(type)) {
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~BFloat16Autocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, was_enabled_);
    at::autocast::set_autocast_dtype(type_, previous_dtype_);
  }

 private:
  at::DeviceType type_;
  bool was_enabled_;
  at::ScalarType previous_dtype_;
};

}  // namespace

LinearLayer::LinearLayer(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", at::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", at::zeros({out}));
}

at::Tensor LinearLayer::forward(const at::Tensor& x) const { return ops::linear(x, weight, bias); }

NormLayer::NormLayer(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
  bias = register_parameter("bias", at::zeros({dim}));
}

at::Tensor NormLayer::forward(const at::Tensor& x) const {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

EmbeddingTable::EmbeddingTable(int64_t rows, int64_t dim) {
  weight = register_parameter("weight", at::empty({rows, dim}));
}

MlmModel::MlmModel(MlmConfig config) : config_(std::move(config)) {
  const MlmConfig& c = config_;
  const int64_t D = c.hidden_size, V = c.vocab_size;
  const bool bert = c.architecture == Architecture::Bert;
  const std::string base = bert ? "bert.embeddings." : "distilbert.embeddings.";
  word_embeddings_ = attach(*this, base + "word_embeddings", std::make_shared<EmbeddingTable>(V, D));
  position_embeddings_ = attach(*this, base + "position_embeddings", std::make_shared<EmbeddingTable>(c.max_positions, D));
  if (bert)
    token_type_embeddings_ = attach(*this, base + "token_type_embeddings", std::make_shared<EmbeddingTable>(c.type_vocab_size, D));
  embedding_norm_ = attach(*this, base + "LayerNorm", std::make_shared<NormLayer>(D, c.layer_norm_eps));

  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = (bert ? "bert.encoder.layer." : "distilbert.transformer.layer.") + std::to_string(i) + ".";
    auto linear = [&](const std::string& name, int64_t in, int64_t out) {
      return attach(*this, p + name, std::make_shared<LinearLayer>(in, out));
    };
    auto norm = [&](const std::string& name) { return attach(*this, p + name, std::make_shared<NormLayer>(D, c.layer_norm_eps)); };
    EncoderLayer l;
    l.query = linear(bert ? "attention.self.query" : "attention.q_lin", D, D);
    l.key = linear(bert ? "attention.self.key" : "attention.k_lin", D, D);
    l.value = linear(bert ? "attention.self.value" : "attention.v_lin", D, D);
    l.attention_out = linear(bert ? "attention.output.dense" : "attention.out_lin", D, D);
    l.attention_norm = norm(bert ? "attention.output.LayerNorm" : "sa_layer_norm");
    l.ffn_in = linear(bert ? "intermediate.dense" : "ffn.lin1", D, c.intermediate_size);
    l.ffn_out = linear(bert ? "output.dense" : "ffn.lin2", c.intermediate_size, D);
    l.output_norm = norm(bert ? "output.LayerNorm" : "output_layer_norm");
    layers_.push_back(std::move(l));
  }

  if (bert) {
    decoder_bias_name_ = "cls.predictions.bias";
    decoder_bias_ = container(*this, "cls.predictions").register_parameter("bias", at::zeros({V}));
    head_dense_ = attach(*this, "cls.predictions.transform.dense", std::make_shared<LinearLayer>(D, D));
    head_norm_ = attach(*this, "cls.predictions.transform.LayerNorm", std::make_shared<NormLayer>(D, c.layer_norm_eps));
  } else {
    head_dense_ = attach(*this, "vocab_transform", std::make_shared<LinearLayer>(D, D));
    head_norm_ = attach(*this, "vocab_layer_norm", std::make_shared<NormLayer>(D, 1e-12));
    decoder_bias_name_ = "vocab_projector.bias";
    decoder_bias_ = container(*this, "vocab_projector").register_parameter("bias", at::zeros({V}));
  }

  // transformers' _init_weights for these models.
  at::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 && p.value().dim() == 2)
      p.value().normal_(0.0, c.initializer_range);
  }
  word_embeddings_->weight[c.pad_token_id].zero_();
  if (c.sinusoidal_positions) {
    position_embeddings_->weight.copy_(sinusoidal_table(c.max_positions, D));
    position_embeddings_->weight.requires_grad_(false);  // fixed, as in transformers
  }
}

void MlmModel::move_to(const at::Device& device) {
  if (device == this->device()) return;
  to(device);
  // The members must have followed the registered parameters (see the header): a handle left behind would
  // silently compute on the old device or fail with a device mismatch deep inside a forward.
  for (const auto& p : named_parameters(/*recurse=*/true))
    TORCH_CHECK(p.value().device() == device, "move_to: parameter ", p.key(), " stayed on ", p.value().device());
  TORCH_CHECK(decoder_weight().device() == device && decoder_bias_.device() == device &&
                  head_dense_->weight.device() == device &&
                  (layers_.empty() || layers_.front().query->weight.device() == device),
              "move_to: a parameter handle of the model did not follow to ", device);
}

at::Tensor MlmModel::activation(const at::Tensor& x) const {
  const std::string& a = config_.hidden_act;
  if (a == "gelu") return at::gelu(x);
  if (a == "gelu_new" || a == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (a == "relu") return at::relu(x);
  if (a == "silu" || a == "swish") return at::silu(x);
  TORCH_CHECK(false, "unsupported activation ", a);
}

namespace {

// transformers' hidden_act names -> ops/recomputed_activation_linear.h's.
std::string activation_op_name(const std::string& hidden_act) {
  if (hidden_act == "gelu_new" || hidden_act == "gelu_pytorch_tanh") return "gelu_tanh";
  if (hidden_act == "swish") return "silu";
  return hidden_act;
}

// Dropout keeping a 1-byte mask for backward (at::dropout keeps a float one).
at::Tensor hidden_dropout(const at::Tensor& x, double p, bool train) {
  if (!train || p <= 0) return x;
  return std::get<0>(at::native_dropout(x, p, true));
}

}  // namespace

at::Tensor MlmModel::bf16_copy(const at::Tensor& p) const {
  if (!p.defined()) return p;
  std::lock_guard<std::mutex> lock(bf16_copies_mutex_);
  Bf16Copy& entry = bf16_copies_[p.unsafeGetTensorImpl()];
  if (!entry.copy.defined() || entry.version != static_cast<int64_t>(p._version()) || entry.source != p.data_ptr()) {
    entry.copy = p.detach().to(at::kBFloat16).contiguous();
    entry.version = static_cast<int64_t>(p._version());
    entry.source = p.data_ptr();
  }
  return entry.copy;
}

at::Tensor MlmModel::dense(const LinearLayer& layer, const at::Tensor& x, bool bf16_gemms) const {
  if (!bf16_gemms) return layer.forward(x);
  return ops::linear(x.to(at::kBFloat16), bf16_copy(layer.weight), bf16_copy(layer.bias));
}

at::Tensor MlmModel::attention(const EncoderLayer& layer, const at::Tensor& x, const at::Tensor& additive_mask,
                               bool train, bool bf16_gemms) const {
  const int64_t B = x.size(0), L = x.size(1), H = config_.num_heads, Dh = config_.hidden_size / H;
  auto heads = [&](const at::Tensor& t) { return t.view({B, L, H, Dh}).transpose(1, 2); };  // [B,H,L,Dh]
  at::Tensor q = heads(dense(*layer.query, x, bf16_gemms));
  at::Tensor k = heads(dense(*layer.key, x, bf16_gemms));
  at::Tensor v = heads(dense(*layer.value, x, bf16_gemms));
  double p = train ? config_.attention_dropout : 0.0;
  at::Tensor mask = additive_mask.to(q.scalar_type());
  // With gradients: keep q, k, v and a byte mask and recompute the probabilities in backward (memory);
  // without: SDPA, whose CPU flash kernel is the fastest path for encoding.
  at::Tensor context = at::GradMode::is_enabled() ? ops::recomputed_attention(q, k, v, mask, p)
                                                  : at::scaled_dot_product_attention(q, k, v, mask, p);
  return context.transpose(1, 2).reshape({B, L, H * Dh});
}

at::Tensor MlmModel::head_hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  return forward_hidden(input_ids, attention_mask, is_training());
}

at::Tensor MlmModel::forward_hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask, bool train,
                                    bool bf16_gemms) {
  check_encoder_inputs(config_, input_ids, attention_mask);
  const int64_t B = input_ids.size(0), L = input_ids.size(1);
  const double p = config_.hidden_dropout;
  // Inputs go where the parameters are (no copy when they are there already, e.g. on the CPU).
  at::Tensor ids = input_ids.to(device(), at::kLong);
  at::Tensor mask = attention_mask.to(device());

  at::Tensor x = at::embedding(word_embeddings_->weight, ids);
  if (token_type_embeddings_) x = x + token_type_embeddings_->weight[0];  // one segment: token type 0
  x = x + at::embedding(position_embeddings_->weight, at::arange(L, ids.options())).unsqueeze(0);
  x = hidden_dropout(embedding_norm_->forward(x), p, train);

  // [B,1,1,L]: 0 where the key is a real token, a large negative number where it is padding.
  at::Tensor keep = mask.ne(0).view({B, 1, 1, L});
  at::Tensor additive_mask =
      at::zeros({B, 1, 1, L}, x.options().dtype(at::kFloat)).masked_fill(keep.logical_not(), lowest_finite(at::kFloat));

  for (const EncoderLayer& layer : layers_) {
    at::Tensor attended = dense(*layer.attention_out, attention(layer, x, additive_mask, train, bf16_gemms), bf16_gemms);
    x = layer.attention_norm->forward(hidden_dropout(attended, p, train) + x);
    at::Tensor pre_activation = dense(*layer.ffn_in, x, bf16_gemms);
    at::Tensor ffn;
    if (at::GradMode::is_enabled()) {  // backward recomputes act(pre_activation) instead of storing it
      const at::ScalarType t = pre_activation.scalar_type();
      const LinearLayer& out = *layer.ffn_out;
      ffn = ops::recomputed_activation_linear(pre_activation, out.weight.to(t),
                                              out.bias.defined() ? out.bias.to(t) : out.bias,
                                              activation_op_name(config_.hidden_act));
    } else {
      ffn = dense(*layer.ffn_out, activation(pre_activation), bf16_gemms);
    }
    x = layer.output_norm->forward(hidden_dropout(ffn, p, train) + x);
  }
  at::Tensor transformed = activation(dense(*head_dense_, x, bf16_gemms));
  return head_norm_->forward(bf16_gemms ? transformed.to(at::kFloat) : transformed);
}

at::Tensor MlmModel::logits(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  at::Tensor h = head_hidden(input_ids, attention_mask);
  return at::linear(h, decoder_weight().to(h.scalar_type()), decoder_bias_.to(h.scalar_type()));
}

at::Tensor MlmModel::position_logits(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                     const at::Tensor& positions, bool bfloat16) {
  TORCH_CHECK(positions.defined() && positions.dim() == 1, "position_logits: positions must be a 1-D index tensor");
  const int64_t cells = input_ids.numel();
  if (positions.numel()) {
    TORCH_CHECK(positions.min().item<int64_t>() >= 0 && positions.max().item<int64_t>() < cells,
                "position_logits: positions must lie in [0, ", cells, ")");
  }
  const at::Tensor rows = positions.to(device(), at::kLong);
  auto project = [&] {
    at::Tensor h = head_hidden(input_ids, attention_mask);
    h = h.reshape({-1, h.size(-1)}).index_select(0, rows);
    return at::linear(h, decoder_weight().to(h.scalar_type()), decoder_bias_.to(h.scalar_type()));
  };
  if (!bfloat16) return project().to(at::kFloat);
  at::Tensor z;
  {
    BFloat16Autocast autocast(device().type());
    z = project();
  }
  return z.to(at::kFloat);
}

at::Tensor MlmModel::doc_vectors(const at::Tensor& input_ids, const at::Tensor& attention_mask, int extra_logs,
                                 bool bfloat16) {
  return doc_vectors_impl(input_ids, attention_mask, extra_logs, bfloat16, is_training());
}

at::Tensor MlmModel::encode(const at::Tensor& input_ids, const at::Tensor& attention_mask, int extra_logs,
                            bool bfloat16, bool pack) {
  at::NoGradGuard no_grad;
  return doc_vectors_impl(input_ids, attention_mask, extra_logs, bfloat16, /*train=*/false, pack);
}

at::Tensor MlmModel::doc_vectors_impl(const at::Tensor& input_ids, const at::Tensor& attention_mask, int extra_logs,
                                      bool bfloat16, bool train, bool pack) {
  const at::Tensor mask = attention_mask.to(device());
  const bool inference = !train && !at::GradMode::is_enabled();
  auto hidden = [&](bool bf16_gemms) {
    if (inference && pack) {
      check_encoder_inputs(config_, input_ids, attention_mask);
      at::Tensor keep = mask.ne(0);
      if (packable(keep)) return forward_hidden_packed(input_ids.to(device(), at::kLong), keep, bf16_gemms);
    }
    return forward_hidden(input_ids, attention_mask, train, bf16_gemms);
  };
  if (!bfloat16) {
    at::Tensor h = hidden(false).to(at::kFloat);
    return ops::sparse_head(h, decoder_weight(), decoder_bias_, mask, extra_logs);
  }
  if (inference) {
    // Inference: bf16 GEMMs with cached bf16 weights (no per-call weight casts), float32 elsewhere.
    at::Tensor h = hidden(true).to(at::kBFloat16);
    return ops::sparse_head(h, bf16_copy(decoder_weight()), bf16_copy(decoder_bias_), mask, extra_logs).to(at::kFloat);
  }
  at::Tensor h;
  {
    BFloat16Autocast autocast(device().type());
    h = forward_hidden(input_ids, attention_mask, train);
  }
  // The head takes one dtype for all three operands; casting is differentiable, so training works too.
  at::Tensor w = ops::sparse_head(h.to(at::kBFloat16), decoder_weight().to(at::kBFloat16),
                                  decoder_bias_.to(at::kBFloat16), mask, extra_logs);
  return w.to(at::kFloat);
}

void check_encoder_inputs(const MlmConfig& config, const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  TORCH_CHECK(input_ids.defined() && input_ids.dim() == 2, "input_ids must be [batch, seq_len]");
  TORCH_CHECK(attention_mask.defined() && attention_mask.sizes() == input_ids.sizes(), "attention_mask is ",
              attention_mask.sizes(), " but input_ids is ", input_ids.sizes());
  TORCH_CHECK(input_ids.size(0) >= 1 && input_ids.size(1) >= 1, "input_ids must have batch >= 1 and seq_len >= 1, got ",
              input_ids.sizes());
  TORCH_CHECK(input_ids.scalar_type() == at::kInt || input_ids.scalar_type() == at::kLong,
              "input_ids must be int32 or int64, got ", input_ids.scalar_type());
  TORCH_CHECK(input_ids.size(1) <= config.max_positions, "seq_len ", input_ids.size(1),
              " exceeds max_position_embeddings = ", config.max_positions);
  int64_t lo = input_ids.min().item<int64_t>(), hi = input_ids.max().item<int64_t>();
  if (lo < 0 || hi >= config.vocab_size) {
    at::Tensor bad = at::logical_or(input_ids.lt(0), input_ids.ge(config.vocab_size)).nonzero()[0];
    int64_t b = bad[0].item<int64_t>(), i = bad[1].item<int64_t>();
    TORCH_CHECK(false, "input_ids[", b, "][", i, "] = ", input_ids[b][i].item<int64_t>(),
                " is outside the vocabulary [0, ", config.vocab_size, ")");
  }
}

}  // namespace l0sparse::model
