// JSON reader/writer and config.json parsing for BERT / DistilBERT.
#include "model/config.h"
#include "model/json.h"

#include "model_test_util.h"

#include <gtest/gtest.h>

using namespace l0sparse;
using l0sparse::testing::expect_error;

TEST(Json, ParsesAndWritesBackTheSameDocument) {
  std::string text = R"({"a":1,"b":[true,false,null],"c":"x\"\\\n\u00e9\ud83d\ude00","d":1e-12,"e":-0.5,"f":2.0,"g":{}})";
  json::Value v = json::parse(text, "t");
  EXPECT_EQ(v.keys().size(), 7u);
  EXPECT_TRUE(v.find("a")->is_integer());
  EXPECT_EQ(v.find("a")->as_int(), 1);
  EXPECT_EQ(v.find("c")->as_string(), "x\"\\\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_DOUBLE_EQ(v.find("d")->as_double(), 1e-12);
  EXPECT_FALSE(v.find("f")->is_integer());  // 2.0 stays a float
  std::string out = json::dump(v, 0);
  EXPECT_EQ(out, R"({"a":1,"b":[true,false,null],"c":"x\"\\\n)" "\xc3\xa9\xf0\x9f\x98\x80" R"(","d":1e-12,"e":-0.5,"f":2.0,"g":{}})");
  json::Value again = json::parse(json::dump(v, 2), "t2");
  EXPECT_EQ(json::dump(again, 0), out);
}

TEST(Json, RejectsMalformedInputWithPosition) {
  expect_error([] { json::parse("{\"a\":1,}", "cfg.json"); }, {"cfg.json", "invalid JSON at byte"});
  expect_error([] { json::parse("{\"a\":1,\"a\":2}", "x"); }, {"duplicate key \"a\""});
  expect_error([] { json::parse("[1 2]", "x"); }, {"expected ','"});
  expect_error([] { json::parse("01", "x"); }, {"unexpected characters"});
  expect_error([] { json::parse("\"abc", "x"); }, {"unterminated string"});
  expect_error([] { json::parse("1e999", "x"); }, {"out of range"});
  expect_error([] { json::parse("", "x"); }, {"unexpected end"});
  expect_error([] { json::parse(std::string(100000, '['), "x"); }, {"nesting deeper"});
}

namespace {
json::Value bert_raw() {
  return json::parse(R"({"model_type":"bert","vocab_size":100,"hidden_size":16,"num_hidden_layers":2,
    "num_attention_heads":2,"intermediate_size":32,"max_position_embeddings":64,"type_vocab_size":2,
    "layer_norm_eps":1e-12,"pad_token_id":0,"hidden_act":"gelu","hidden_dropout_prob":0.1,
    "attention_probs_dropout_prob":0.1,"custom_key":"kept"})", "bert");
}
}  // namespace

TEST(MlmConfig, ParsesBertAndDistilBertSpellings) {
  model::MlmConfig b = model::parse_mlm_config(bert_raw(), "config.json");
  EXPECT_EQ(b.architecture, model::Architecture::Bert);
  EXPECT_EQ(b.hidden_size, 16);
  EXPECT_EQ(b.num_layers, 2);
  EXPECT_EQ(b.type_vocab_size, 2);
  model::MlmConfig d = model::parse_mlm_config(
      json::parse(R"({"model_type":"distilbert","vocab_size":50,"dim":8,"n_layers":1,"n_heads":2,"hidden_dim":12,
        "max_position_embeddings":32,"activation":"gelu","dropout":0.2,"attention_dropout":0.3,"sinusoidal_pos_embds":true})", "d"),
      "d");
  EXPECT_EQ(d.architecture, model::Architecture::DistilBert);
  EXPECT_EQ(d.hidden_size, 8);
  EXPECT_EQ(d.intermediate_size, 12);
  EXPECT_EQ(d.type_vocab_size, 0);
  EXPECT_DOUBLE_EQ(d.hidden_dropout, 0.2);
  EXPECT_TRUE(d.sinusoidal_positions);
  // Saving keeps unknown keys and names the MaskedLM class.
  json::Value out = model::config_to_json(b);
  EXPECT_EQ(out.find("custom_key")->as_string(), "kept");
  EXPECT_EQ(out.find("architectures")->items()[0].as_string(), "BertForMaskedLM");
}

TEST(MlmConfig, ClearErrors) {
  auto with = [](const std::string& key, const std::string& value) {
    json::Value raw = bert_raw();
    raw.set(key, json::parse(value, "v"));
    return raw;
  };
  expect_error([&] { model::parse_mlm_config(with("model_type", "\"roberta\""), "c.json"); },
               {"c.json", "model_type \"roberta\" is not supported"});
  expect_error([&] { model::parse_mlm_config(with("hidden_size", "15"), "c.json"); }, {"not divisible"});
  expect_error([&] { model::parse_mlm_config(with("hidden_size", "\"16\""), "c.json"); }, {"\"hidden_size\" must be an integer"});
  expect_error([&] { model::parse_mlm_config(with("vocab_size", "0"), "c.json"); }, {"\"vocab_size\" must be a positive integer"});
  expect_error([&] { model::parse_mlm_config(with("hidden_act", "\"mish\""), "c.json"); }, {"activation \"mish\""});
  expect_error([&] { model::parse_mlm_config(with("position_embedding_type", "\"relative_key\""), "c.json"); },
               {"relative_key"});
  expect_error([&] { model::parse_mlm_config(with("tie_word_embeddings", "false"), "c.json"); }, {"tie_word_embeddings"});
  expect_error([&] { model::parse_mlm_config(with("pad_token_id", "100"), "c.json"); }, {"pad_token_id 100"});
  json::Value no_type = json::parse(R"({"vocab_size":3})", "x");
  expect_error([&] { model::parse_mlm_config(no_type, "c.json"); }, {"missing \"model_type\""});
  json::Value no_layers = json::parse(R"({"model_type":"distilbert","vocab_size":3,"dim":4,"n_heads":2,"hidden_dim":4})", "x");
  expect_error([&] { model::parse_mlm_config(no_layers, "c.json"); }, {"missing \"n_layers\""});
}
