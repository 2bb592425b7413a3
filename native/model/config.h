#pragma once
// The part of a transformers config.json that a BERT-family masked LM needs, for both spellings:
//   bert:       hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, hidden_act, ...
//   distilbert: dim, n_layers, n_heads, hidden_dim, activation, sinusoidal_pos_embds, ...
// The original JSON is kept (`raw`) so that saving writes back every key transformers put there.
#include "model/json.h"

#include <string>

namespace l0sparse::model {

enum class Architecture { Bert, DistilBert };

const char* architecture_name(Architecture a);  // "bert" | "distilbert" (the config's model_type)

struct MlmConfig {
  Architecture architecture = Architecture::Bert;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_positions = 0;
  int64_t type_vocab_size = 0;  // 0 for DistilBERT (no token-type embeddings)
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::string hidden_act = "gelu";  // encoder FFN and MLM-head transform activation
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
  bool sinusoidal_positions = false;  // DistilBERT: fixed sinusoidal table, not trained
  double initializer_range = 0.02;
  json::Value raw;  // the whole config.json as read (or as built for a fresh model)
};

// Parses and validates a config; `source` names the file in errors. Unknown model_type, missing or
// inconsistent sizes, unsupported activations or position types are errors.
MlmConfig parse_mlm_config(const json::Value& raw, const std::string& source);

// Reads <dir>/config.json.
MlmConfig load_mlm_config(const std::string& dir);

// config.json content for saving: `raw` with the typed fields written back in the architecture's
// spelling, plus model_type and architectures (BertForMaskedLM / DistilBertForMaskedLM).
json::Value config_to_json(const MlmConfig& config);

}  // namespace l0sparse::model
