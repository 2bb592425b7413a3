#include "model/config.h"

#include "model/files.h"

#include <c10/util/Exception.h>

namespace l0sparse::model {
namespace {

// transformers' ACT2FN names that the encoder implements (see encoder activation in mlm_model.cc).
bool supported_activation(const std::string& name) {
  return name == "gelu" || name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "relu" ||
         name == "silu" || name == "swish";
}

int64_t positive_int(const json::Value& raw, const char* key, const std::string& source,
                     std::optional<int64_t> fallback = std::nullopt) {
  std::optional<int64_t> v = json::optional_int(raw, key, source);
  if (!v) {
    TORCH_CHECK(fallback.has_value(), source, ": missing \"", key, "\"");
    v = fallback;
  }
  TORCH_CHECK(*v > 0 && *v <= (int64_t(1) << 31), source, ": \"", key, "\" must be a positive integer, got ", *v);
  return *v;
}

double probability(const json::Value& raw, const char* key, const std::string& source, double fallback) {
  double p = json::optional_number(raw, key, source).value_or(fallback);
  TORCH_CHECK(p >= 0 && p < 1, source, ": \"", key, "\" must be in [0, 1), got ", p);
  return p;
}

}  // namespace

const char* architecture_name(Architecture a) { return a == Architecture::Bert ? "bert" : "distilbert"; }

MlmConfig parse_mlm_config(const json::Value& raw, const std::string& source) {
  TORCH_CHECK(raw.is_object(), source, ": must be a JSON object");
  std::optional<std::string> model_type = json::optional_string(raw, "model_type", source);
  TORCH_CHECK(model_type.has_value(), source, ": missing \"model_type\" (expected \"bert\" or \"distilbert\")");
  MlmConfig c;
  c.raw = raw;
  if (*model_type == "bert") {
    c.architecture = Architecture::Bert;
    c.hidden_size = positive_int(raw, "hidden_size", source);
    c.num_layers = positive_int(raw, "num_hidden_layers", source);
    c.num_heads = positive_int(raw, "num_attention_heads", source);
    c.intermediate_size = positive_int(raw, "intermediate_size", source);
    c.type_vocab_size = positive_int(raw, "type_vocab_size", source, 2);
    c.layer_norm_eps = json::optional_number(raw, "layer_norm_eps", source).value_or(1e-12);
    c.hidden_act = json::optional_string(raw, "hidden_act", source).value_or("gelu");
    c.hidden_dropout = probability(raw, "hidden_dropout_prob", source, 0.1);
    c.attention_dropout = probability(raw, "attention_probs_dropout_prob", source, 0.1);
    std::string position_type = json::optional_string(raw, "position_embedding_type", source).value_or("absolute");
    TORCH_CHECK(position_type == "absolute", source, ": position_embedding_type \"", position_type,
                "\" is not supported (only \"absolute\")");
    TORCH_CHECK(!json::optional_bool(raw, "is_decoder", source).value_or(false), source,
                ": is_decoder = true is not a masked-LM encoder");
  } else if (*model_type == "distilbert") {
    c.architecture = Architecture::DistilBert;
    c.hidden_size = positive_int(raw, "dim", source);
    c.num_layers = positive_int(raw, "n_layers", source);
    c.num_heads = positive_int(raw, "n_heads", source);
    c.intermediate_size = positive_int(raw, "hidden_dim", source);
    c.type_vocab_size = 0;
    c.layer_norm_eps = 1e-12;  // fixed in DistilBERT, not configurable
    c.hidden_act = json::optional_string(raw, "activation", source).value_or("gelu");
    c.hidden_dropout = probability(raw, "dropout", source, 0.1);
    c.attention_dropout = probability(raw, "attention_dropout", source, 0.1);
    c.sinusoidal_positions = json::optional_bool(raw, "sinusoidal_pos_embds", source).value_or(false);
  } else {
    TORCH_CHECK(false, source, ": model_type \"", *model_type,
                "\" is not supported (l0sparse encodes with \"bert\" or \"distilbert\" masked-LM models)");
  }
  c.vocab_size = positive_int(raw, "vocab_size", source);
  c.max_positions = positive_int(raw, "max_position_embeddings", source, 512);
  c.pad_token_id = json::optional_int(raw, "pad_token_id", source).value_or(0);
  c.initializer_range = json::optional_number(raw, "initializer_range", source).value_or(0.02);
  TORCH_CHECK(c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size, source, ": pad_token_id ", c.pad_token_id,
              " is outside the vocabulary [0, ", c.vocab_size, ")");
  TORCH_CHECK(c.layer_norm_eps > 0 && c.layer_norm_eps < 1, source, ": layer_norm_eps must be in (0, 1)");
  TORCH_CHECK(c.hidden_size % c.num_heads == 0, source, ": hidden size ", c.hidden_size,
              " is not divisible by the number of attention heads ", c.num_heads);
  TORCH_CHECK(supported_activation(c.hidden_act), source, ": activation \"", c.hidden_act,
              "\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)");
  TORCH_CHECK(json::optional_bool(raw, "tie_word_embeddings", source).value_or(true), source,
              ": tie_word_embeddings = false is not supported (the MLM decoder must share the word embeddings)");
  return c;
}

MlmConfig load_mlm_config(const std::string& dir) {
  TORCH_CHECK(is_directory(dir), dir, ": not a directory");
  std::string path = join_path(dir, "config.json");
  TORCH_CHECK(file_exists(path), dir, ": no config.json (expected a transformers model directory)");
  return parse_mlm_config(json::parse(read_text_file(path), path), path);
}

json::Value config_to_json(const MlmConfig& c) {
  json::Value out = c.raw.is_object() ? c.raw : json::Value::object();
  auto put = [&](const char* key, int64_t v) { out.set(key, json::Value::integer(v)); };
  out.set("model_type", json::Value::string(architecture_name(c.architecture)));
  json::Value archs = json::Value::array();
  archs.push_back(json::Value::string(c.architecture == Architecture::Bert ? "BertForMaskedLM" : "DistilBertForMaskedLM"));
  out.set("architectures", std::move(archs));
  put("vocab_size", c.vocab_size);
  put("max_position_embeddings", c.max_positions);
  put("pad_token_id", c.pad_token_id);
  out.set("tie_word_embeddings", json::Value::boolean(true));
  // Weights are always written in float32, whatever precision the loaded checkpoint had.
  out.set("dtype", json::Value::string("float32"));
  if (out.find("torch_dtype")) out.set("torch_dtype", json::Value::string("float32"));
  if (c.architecture == Architecture::Bert) {
    put("hidden_size", c.hidden_size);
    put("num_hidden_layers", c.num_layers);
    put("num_attention_heads", c.num_heads);
    put("intermediate_size", c.intermediate_size);
    put("type_vocab_size", c.type_vocab_size);
    out.set("hidden_act", json::Value::string(c.hidden_act));
    out.set("layer_norm_eps", json::Value::number(c.layer_norm_eps));
    out.set("hidden_dropout_prob", json::Value::number(c.hidden_dropout));
    out.set("attention_probs_dropout_prob", json::Value::number(c.attention_dropout));
  } else {
    put("dim", c.hidden_size);
    put("n_layers", c.num_layers);
    put("n_heads", c.num_heads);
    put("hidden_dim", c.intermediate_size);
    out.set("activation", json::Value::string(c.hidden_act));
    out.set("dropout", json::Value::number(c.hidden_dropout));
    out.set("attention_dropout", json::Value::number(c.attention_dropout));
    out.set("sinusoidal_pos_embds", json::Value::boolean(c.sinusoidal_positions));
  }
  return out;
}

}  // namespace l0sparse::model
