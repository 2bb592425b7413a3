// MlmModel: HF parameter names, forward invariants, train/eval, gradients, checkpoint load/save and the
// errors for inconsistent checkpoints. (Numerical parity with transformers: test/encoder, fixtures.)
#include "model/files.h"
#include "model/mlm_model.h"

#include "model_test_util.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <set>

using namespace l0sparse;
using namespace l0sparse::model;
using l0sparse::testing::expect_error;
using l0sparse::testing::TempDir;

namespace {

MlmConfig tiny(const std::string& type) {
  std::string text = type == "bert"
      ? R"({"model_type":"bert","vocab_size":60,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,
           "intermediate_size":16,"max_position_embeddings":16,"type_vocab_size":2,"hidden_act":"gelu"})"
      : R"({"model_type":"distilbert","vocab_size":60,"dim":8,"n_layers":2,"n_heads":2,"hidden_dim":16,
           "max_position_embeddings":16,"activation":"gelu","sinusoidal_pos_embds":true})";
  return parse_mlm_config(json::parse(text, type), type);
}

std::shared_ptr<MlmModel> make(const std::string& type, uint64_t seed = 7) {
  at::manual_seed(seed);
  auto m = std::make_shared<MlmModel>(tiny(type));
  m->eval();
  // Non-trivial biases and norms, so that loading/saving them is actually exercised.
  at::NoGradGuard no_grad;
  for (auto& p : m->named_parameters())
    if (p.value().dim() == 1) p.value().add_(at::randn_like(p.value()) * 0.1);
  return m;
}

at::Tensor ids_2x5() { return at::tensor({2, 17, 33, 59, 3, 2, 40, 5, 0, 0}, at::kInt).view({2, 5}); }
at::Tensor mask_2x5() { return at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, at::kInt).view({2, 5}); }

class MlmModelTest : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(MlmModelTest, ParametersCarryTransformersNamesAndTiedWeightOnce) {
  auto m = make(GetParam());
  std::set<std::string> names;
  for (auto& p : m->named_parameters()) names.insert(p.key());
  if (GetParam() == "bert") {
    for (const char* n : {"bert.embeddings.word_embeddings.weight", "bert.embeddings.token_type_embeddings.weight",
                          "bert.encoder.layer.1.attention.self.query.weight", "bert.encoder.layer.0.output.LayerNorm.bias",
                          "cls.predictions.bias", "cls.predictions.transform.dense.weight",
                          "cls.predictions.transform.LayerNorm.weight"})
      EXPECT_TRUE(names.count(n)) << n;
    EXPECT_EQ(names.size(), 5u + 16u * 2 + 5u);
  } else {
    for (const char* n : {"distilbert.embeddings.position_embeddings.weight", "distilbert.transformer.layer.1.attention.q_lin.weight",
                          "distilbert.transformer.layer.0.ffn.lin2.bias", "distilbert.transformer.layer.0.sa_layer_norm.weight",
                          "vocab_transform.weight", "vocab_layer_norm.bias", "vocab_projector.bias"})
      EXPECT_TRUE(names.count(n)) << n;
    EXPECT_EQ(names.size(), 4u + 16u * 2 + 5u);
  }
  // The decoder weight is the word-embedding tensor itself, not a copy.
  EXPECT_TRUE(m->decoder_weight().is_same(m->named_parameters()[GetParam() + ".embeddings.word_embeddings.weight"]));
}

TEST_P(MlmModelTest, DocVectorsMatchLogitsMaxPoolAndIgnorePadding) {
  auto m = make(GetParam());
  at::NoGradGuard no_grad;
  at::Tensor w = m->doc_vectors(ids_2x5(), mask_2x5(), 0);
  ASSERT_EQ(w.sizes(), (at::IntArrayRef{2, 60}));
  at::Tensor z = m->logits(ids_2x5(), mask_2x5()) * mask_2x5().unsqueeze(-1);
  at::Tensor expected = at::log1p(at::relu(std::get<0>(z.max(1))));
  EXPECT_TRUE(at::allclose(w, expected, 1e-5, 1e-6));
  // Row 1 with its padding cut off encodes the same (mask really hides padded keys).
  at::Tensor short_ids = ids_2x5().slice(0, 1, 2).slice(1, 0, 3);
  at::Tensor alone = m->doc_vectors(short_ids, at::ones({1, 3}, at::kInt), 0);
  EXPECT_TRUE(at::allclose(alone, w.slice(0, 1, 2), 1e-5, 1e-6));
  // l0 activation = one more log1p of the relu activation.
  EXPECT_TRUE(at::allclose(m->doc_vectors(ids_2x5(), mask_2x5(), 1), at::log1p(w), 1e-5, 1e-6));
  // A document that is all padding is empty, not NaN.
  at::Tensor none = m->doc_vectors(ids_2x5(), at::zeros({2, 5}, at::kInt), 0);
  EXPECT_TRUE(at::isfinite(none).all().item<bool>());
  EXPECT_EQ(none.count_nonzero().item<int64_t>(), 0);
}

TEST_P(MlmModelTest, TrainModeUsesDropoutEvalIsDeterministicAndGradientsReachEveryParameter) {
  auto m = make(GetParam());
  at::Tensor a = m->doc_vectors(ids_2x5(), mask_2x5(), 1).detach();
  at::Tensor b = m->doc_vectors(ids_2x5(), mask_2x5(), 1).detach();
  EXPECT_TRUE(at::equal(a, b));
  m->train();
  at::manual_seed(1);
  at::Tensor w = m->doc_vectors(ids_2x5(), mask_2x5(), 1);
  EXPECT_FALSE(at::allclose(w.detach(), a));
  // encode() is inference whatever the mode, and leaves the mode alone. (`a` took the training ops'
  // recomputing attention, encode() takes SDPA: equal up to float rounding.)
  EXPECT_TRUE(at::allclose(m->encode(ids_2x5(), mask_2x5(), 1), a, 1e-5, 1e-6));
  EXPECT_TRUE(m->is_training());
  EXPECT_FALSE(m->encode(ids_2x5(), mask_2x5(), 1).requires_grad());
  w.sum().backward();
  for (auto& p : m->named_parameters()) {
    if (!p.value().requires_grad()) {
      EXPECT_EQ(p.key(), "distilbert.embeddings.position_embeddings.weight");  // fixed sinusoidal table
      continue;
    }
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    if (p.key().find("token_type") == std::string::npos)
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST_P(MlmModelTest, PositionLogitsAreTheFullLogitsRowsWithTheirGradients) {
  auto m = make(GetParam());
  const at::Tensor positions = at::tensor({7, 0, 3, 7}, at::kLong);  // flat b*L + i, repeats allowed
  at::Tensor full = m->logits(ids_2x5(), mask_2x5()).reshape({10, 60});
  at::Tensor expected = full.index_select(0, positions);
  at::Tensor rows = m->position_logits(ids_2x5(), mask_2x5(), positions);
  ASSERT_EQ(rows.sizes(), (at::IntArrayRef{4, 60}));
  EXPECT_TRUE(at::allclose(rows, expected, 1e-5, 1e-6));
  // Same gradients through both paths (a cross-entropy of the selected rows).
  const at::Tensor targets = at::tensor({5, 59, 0, 12}, at::kLong);
  auto grads = [&](const at::Tensor& logits) {
    for (auto& p : m->parameters()) p.mutable_grad() = at::Tensor();
    at::cross_entropy_loss(logits, targets).backward();
    std::vector<at::Tensor> out;
    for (auto& p : m->parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
    return out;
  };
  auto a = grads(m->position_logits(ids_2x5(), mask_2x5(), positions));
  auto b = grads(m->logits(ids_2x5(), mask_2x5()).reshape({10, 60}).index_select(0, positions));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::allclose(a[i], b[i], 1e-5, 1e-7)) << i;
  // bfloat16 autocast stays close and returns float32.
  {
    at::NoGradGuard no_grad;
    at::Tensor h = m->position_logits(ids_2x5(), mask_2x5(), positions, /*bfloat16=*/true);
    EXPECT_EQ(h.scalar_type(), at::kFloat);
    EXPECT_LT((h - expected.detach()).abs().max().item<double>(), 0.05);
  }
  expect_error([&] { m->position_logits(ids_2x5(), mask_2x5(), at::tensor({10}, at::kLong)); }, {"positions must lie in [0, 10)"});
}

TEST_P(MlmModelTest, BFloat16AutocastStaysCloseToFloat32) {
  auto m = make(GetParam());
  at::NoGradGuard no_grad;
  at::Tensor f = m->doc_vectors(ids_2x5(), mask_2x5(), 0);
  at::Tensor h = m->doc_vectors(ids_2x5(), mask_2x5(), 0, /*bfloat16=*/true);
  EXPECT_EQ(h.scalar_type(), at::kFloat);
  EXPECT_LT((f - h).abs().max().item<double>(), 0.05);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));  // state restored
}

TEST_P(MlmModelTest, SaveThenLoadReproducesTheModel) {
  auto m = make(GetParam());
  TempDir dir;
  save_mlm_model(*m, dir.path());
  auto loaded = load_mlm_model(dir.path());
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(m->doc_vectors(ids_2x5(), mask_2x5(), 1), loaded->doc_vectors(ids_2x5(), mask_2x5(), 1)));
  EXPECT_FALSE(loaded->is_training());
  json::Value cfg = json::parse(read_text_file(dir.file("config.json")), "config.json");
  EXPECT_EQ(cfg.find("model_type")->as_string(), GetParam());
}

TEST_P(MlmModelTest, InputValidation) {
  auto m = make(GetParam());
  at::NoGradGuard no_grad;
  at::Tensor bad = ids_2x5().clone();
  bad[1][2] = 60;
  expect_error([&] { m->doc_vectors(bad, mask_2x5(), 0); }, {"input_ids[1][2] = 60", "outside the vocabulary [0, 60)"});
  expect_error([&] { m->doc_vectors(at::zeros({1, 17}, at::kInt), at::ones({1, 17}, at::kInt), 0); },
               {"seq_len 17 exceeds max_position_embeddings = 16"});
  expect_error([&] { m->doc_vectors(ids_2x5(), at::ones({2, 4}, at::kInt), 0); }, {"attention_mask is"});
  expect_error([&] { m->doc_vectors(ids_2x5().to(at::kFloat), mask_2x5(), 0); }, {"int32 or int64"});
}

INSTANTIATE_TEST_SUITE_P(Architectures, MlmModelTest, ::testing::Values("bert", "distilbert"));

TEST(MlmCheckpoint, MissingExtraMisshapedAndWrongVocabTensorsAreNamed) {
  auto m = make("bert");
  TensorMap good;
  for (auto& [name, t] : m->checkpoint_tensors()) good[name] = t;

  TensorMap missing = good;
  missing.erase("bert.encoder.layer.1.attention.self.key.bias");
  expect_error([&] { m->load_checkpoint(missing, "dir"); }, {"dir", "missing tensors", "layer.1.attention.self.key.bias"});

  TensorMap extra = good;
  extra["bert.encoder.layer.7.output.dense.weight"] = at::zeros({8, 16});
  expect_error([&] { m->load_checkpoint(extra, "dir"); }, {"unexpected tensors", "layer.7.output.dense.weight"});

  TensorMap misshaped = good;
  misshaped["cls.predictions.transform.dense.weight"] = at::zeros({8, 9});
  expect_error([&] { m->load_checkpoint(misshaped, "dir"); }, {"cls.predictions.transform.dense.weight is [8, 9], expected [8, 8]"});

  TensorMap vocab = good;
  vocab["bert.embeddings.word_embeddings.weight"] = at::zeros({61, 8});
  expect_error([&] { m->load_checkpoint(vocab, "dir"); }, {"vocab_size = 60", "has 61 rows"});

  TensorMap ints = good;
  ints["cls.predictions.bias"] = at::zeros({60}, at::kLong);
  expect_error([&] { m->load_checkpoint(ints, "dir"); }, {"'cls.predictions.bias'", "floating-point"});

  TensorMap tied_wrong = good;
  tied_wrong["cls.predictions.decoder.weight"] = at::zeros({60, 4});
  expect_error([&] { m->load_checkpoint(tied_wrong, "dir"); }, {"cls.predictions.decoder.weight is [60, 4]"});

  // Older-style checkpoints: tied aliases, pooler, position_ids and half precision load fine.
  TensorMap legacy = good;
  legacy["cls.predictions.decoder.weight"] = good["bert.embeddings.word_embeddings.weight"];
  legacy["cls.predictions.decoder.bias"] = good["cls.predictions.bias"];
  legacy["bert.pooler.dense.weight"] = at::zeros({8, 8});
  legacy["bert.embeddings.position_ids"] = at::arange(16).unsqueeze(0);
  legacy["cls.predictions.transform.dense.weight"] = good["cls.predictions.transform.dense.weight"].to(at::kHalf);
  auto fresh = make("bert", 99);
  fresh->load_checkpoint(legacy, "dir");
  EXPECT_TRUE(at::equal(fresh->decoder_bias(), m->decoder_bias()));

  // TF-era LayerNorm names (gamma/beta) load like transformers' legacy renaming.
  TensorMap tf_names;
  for (auto& [name, t] : good) {
    std::string n = name;
    if (n.find("LayerNorm.weight") != std::string::npos) n.replace(n.find("LayerNorm.weight"), 16, "LayerNorm.gamma");
    if (n.find("LayerNorm.bias") != std::string::npos) n.replace(n.find("LayerNorm.bias"), 14, "LayerNorm.beta");
    tf_names[n] = t;
  }
  ASSERT_TRUE(tf_names.count("bert.embeddings.LayerNorm.gamma"));
  auto from_tf = make("bert", 98);
  from_tf->load_checkpoint(tf_names, "dir");
  {
    at::NoGradGuard no_grad;
    EXPECT_TRUE(at::equal(from_tf->doc_vectors(ids_2x5(), mask_2x5(), 0), m->doc_vectors(ids_2x5(), mask_2x5(), 0)));
  }
  TensorMap both = good;
  both["bert.embeddings.LayerNorm.gamma"] = good["bert.embeddings.LayerNorm.weight"];
  expect_error([&] { m->load_checkpoint(both, "dir"); }, {"'bert.embeddings.LayerNorm.weight' is stored twice"});

  // A base model (no "bert." prefix, no head) gets a specific hint.
  TensorMap base;
  for (auto& [name, t] : good)
    if (name.rfind("bert.", 0) == 0) base[name.substr(5)] = t;
  expect_error([&] { m->load_checkpoint(base, "dir"); }, {"base model saved without its masked-LM head"});

  // DistilBERT names in a BERT config: everything missing, with a hint.
  auto d = make("distilbert");
  TensorMap other;
  for (auto& [name, t] : d->checkpoint_tensors()) other[name] = t;
  expect_error([&] { m->load_checkpoint(other, "dir"); }, {"different architecture"});
}

TEST(MlmCheckpoint, ModelDirectoryErrors) {
  TempDir dir;
  expect_error([&] { load_mlm_model(dir.file("nope")); }, {"not a directory"});
  expect_error([&] { load_mlm_model(dir.path()); }, {"no config.json"});
  l0sparse::testing::write_bytes(dir.file("config.json"), R"({"model_type":"gpt2","vocab_size":10})");
  expect_error([&] { load_mlm_model(dir.path()); }, {"config.json", "model_type \"gpt2\""});
  save_mlm_model(*make("distilbert"), dir.path());
  std::remove(dir.file("model.safetensors").c_str());
  expect_error([&] { load_mlm_model(dir.path()); }, {"no model.safetensors"});
  // A config whose sizes disagree with the weights.
  save_mlm_model(*make("bert"), dir.path());
  json::Value cfg = json::parse(read_text_file(dir.file("config.json")), "c");
  cfg.set("intermediate_size", json::Value::integer(20));
  l0sparse::testing::write_bytes(dir.file("config.json"), json::dump(cfg));
  expect_error([&] { load_mlm_model(dir.path()); }, {"intermediate.dense.weight is [16, 8], expected [20, 8]"});
}

TEST(MlmCheckpoint, ShardedDirectoryLoadsLikeASingleFile) {
  auto m = make("bert");
  TempDir dir;
  save_mlm_model(*m, dir.path());
  std::remove(dir.file("model.safetensors").c_str());
  // Split the tensors over two shards and index them the way transformers does.
  auto tensors = m->checkpoint_tensors();
  std::vector<std::pair<std::string, at::Tensor>> first(tensors.begin(), tensors.begin() + 10), second(tensors.begin() + 10, tensors.end());
  write_safetensors(dir.file("model-00001-of-00002.safetensors"), first);
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), second);
  json::Value map = json::Value::object();
  for (auto& [name, t] : first) map.set(name, json::Value::string("model-00001-of-00002.safetensors"));
  for (auto& [name, t] : second) map.set(name, json::Value::string("model-00002-of-00002.safetensors"));
  json::Value index = json::Value::object();
  index.set("metadata", json::Value::object());
  index.set("weight_map", std::move(map));
  l0sparse::testing::write_bytes(dir.file("model.safetensors.index.json"), json::dump(index));
  auto loaded = load_mlm_model(dir.path());
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(m->doc_vectors(ids_2x5(), mask_2x5(), 0), loaded->doc_vectors(ids_2x5(), mask_2x5(), 0)));
}

TEST(MlmCheckpoint, SinusoidalDistilBertMayOmitItsFixedPositionTable) {
  auto m = make("distilbert");
  TensorMap tensors;
  for (auto& [name, t] : m->checkpoint_tensors()) tensors[name] = t;
  tensors.erase("distilbert.embeddings.position_embeddings.weight");
  auto fresh = make("distilbert", 3);
  fresh->load_checkpoint(tensors, "dir");
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose(m->doc_vectors(ids_2x5(), mask_2x5(), 1), fresh->doc_vectors(ids_2x5(), mask_2x5(), 1)));
}

TEST(MlmTraining, AdamWOverParametersRaisesATargetWeight) {
  // What the trainer (issue 5) does: train mode, differentiable doc vectors, torch::optim::AdamW over
  // parameters(). Pushing one vocabulary entry up must work through the tied decoder and the encoder.
  auto m = make("distilbert");
  int64_t target;
  at::Tensor before;
  {
    at::NoGradGuard no_grad;
    at::Tensor w = m->doc_vectors(ids_2x5(), mask_2x5(), 1);
    // Gradients exist only where the pooled logit is positive: take an entry active in both documents,
    // the weakest one, so that there is room to grow.
    at::Tensor both = std::get<0>(w.min(0));
    target = at::where(both.gt(0), both, at::full_like(both, 1e9)).argmin().item<int64_t>();
    ASSERT_GT(both[target].item<float>(), 0.0f);
    before = w.select(1, target).clone();
  }
  torch::optim::AdamW optimizer(m->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.01));
  m->train();
  for (int step = 0; step < 15; ++step) {
    optimizer.zero_grad();
    at::Tensor w = m->doc_vectors(ids_2x5(), mask_2x5(), 1);
    at::Tensor loss = -w.select(1, target).sum() + 1e-3 * w.sum();
    loss.backward();
    optimizer.step();
  }
  m->eval();
  at::NoGradGuard no_grad;
  at::Tensor after = m->doc_vectors(ids_2x5(), mask_2x5(), 1).select(1, target);
  EXPECT_TRUE(after.gt(before + 0.1).all().item<bool>()) << "before " << before << " after " << after;
}
