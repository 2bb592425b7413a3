// TrainConfig from key/value settings (camelCase keys, as the TS API sends them), read through one key table:
// the table below is the single list of train-step keys; TS checks its own type against it (trainConfigKeys()).
// Unknown keys are rejected, not ignored; every range error names the key.
#include "train/trainer.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace l0sparse::train {
namespace {

constexpr const char* kWhat = "train config";
constexpr int64_t kMaxSteps = int64_t(1) << 40;

double number_in(const ConfigSource& s, const std::string& key, double lo, double hi) {
  double d = s.number(key);
  TORCH_CHECK(d >= lo && d <= hi, kWhat, ": '", key, "' must be in [", lo, ", ", hi, "], got ", d);
  return d;
}

int64_t integer_in(const ConfigSource& s, const std::string& key, int64_t lo, int64_t hi) {
  double d = s.number(key);
  TORCH_CHECK(std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) && d <= static_cast<double>(hi),
              kWhat, ": '", key, "' must be an integer in [", lo, ", ", hi, "], got ", d);
  return static_cast<int64_t>(d);
}

// Settings that need more than one key (activation + k, decoupled) are applied after the table.
struct Pending {
  std::string activation = "l0";
  int64_t k = 1;
};

struct KeyRule {
  const char* key;
  std::function<void(const ConfigSource&, const std::string&, TrainConfig&, Pending&)> apply;
};

auto number_key(double TrainConfig::*field, double lo, double hi) {
  return [=](const ConfigSource& s, const std::string& key, TrainConfig& c, Pending&) { c.*field = number_in(s, key, lo, hi); };
}
auto integer_key(int64_t TrainConfig::*field, int64_t lo, int64_t hi) {
  return [=](const ConfigSource& s, const std::string& key, TrainConfig& c, Pending&) { c.*field = integer_in(s, key, lo, hi); };
}
auto bool_key(bool TrainConfig::*field) {
  return [=](const ConfigSource& s, const std::string& key, TrainConfig& c, Pending&) { c.*field = s.boolean(key); };
}

const std::vector<KeyRule>& key_table() {
  static const std::vector<KeyRule> table = {
      {"loss", [](const ConfigSource& s, const std::string& key, TrainConfig& c, Pending&) {
         std::string v = s.text(key);
         if (v == "kl") c.loss = RankingLoss::KlDistillation;
         else if (v == "margin_mse") c.loss = RankingLoss::MarginMse;
         else if (v == "info_nce") c.loss = RankingLoss::InfoNce;
         else TORCH_CHECK(false, kWhat, ": 'loss' must be kl, margin_mse or info_nce, got '", v, "'");
       }},
      {"temperature", number_key(&TrainConfig::temperature, 1e-6, 1e6)},
      {"infoNceScale", number_key(&TrainConfig::info_nce_scale, 1e-6, 1e6)},
      {"activation", [](const ConfigSource& s, const std::string& key, TrainConfig&, Pending& p) {
         p.activation = s.text(key);
         TORCH_CHECK(p.activation == "relu" || p.activation == "l0", kWhat, ": 'activation' must be relu or l0, got '", p.activation, "'");
       }},
      {"k", [](const ConfigSource& s, const std::string& key, TrainConfig&, Pending& p) { p.k = integer_in(s, key, 1, 3); }},
      {"decoupled", bool_key(&TrainConfig::decoupled)},
      {"lambda", number_key(&TrainConfig::lambda, 0, 1e6)},
      {"lambdaWarmup", integer_key(&TrainConfig::lambda_warmup, 0, kMaxSteps)},
      {"threshold", number_key(&TrainConfig::threshold, -1, 1e9)},
      {"lr", number_key(&TrainConfig::lr, 0, 10)},
      {"weightDecay", number_key(&TrainConfig::weight_decay, 0, 10)},
      {"adamBeta1", number_key(&TrainConfig::adam_beta1, 0, 0.999999)},
      {"adamBeta2", number_key(&TrainConfig::adam_beta2, 0, 0.999999999)},
      {"adamEps", number_key(&TrainConfig::adam_eps, 1e-12, 1)},
      {"warmupSteps", integer_key(&TrainConfig::warmup_steps, 0, kMaxSteps)},
      {"totalSteps", integer_key(&TrainConfig::total_steps, 1, kMaxSteps)},
      {"maxGradNorm", number_key(&TrainConfig::max_grad_norm, 0, 1e9)},
      {"gradAccumulation", integer_key(&TrainConfig::grad_accumulation, 1, 1 << 20)},
      {"bf16", bool_key(&TrainConfig::bfloat16)},
      {"seed", [](const ConfigSource& s, const std::string& key, TrainConfig& c, Pending&) {
         c.seed = static_cast<uint64_t>(integer_in(s, key, 0, int64_t(1) << 53));
       }},
      {"regularizerPerSlot", bool_key(&TrainConfig::regularizer_per_slot)},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& train_config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& rule : key_table()) out.emplace_back(rule.key);
    return out;
  }();
  return keys;
}

TrainConfig read_train_config(const ConfigSource& source) {
  const auto& known = train_config_keys();
  for (const auto& key : source.keys()) {
    TORCH_CHECK(std::find(known.begin(), known.end(), key) != known.end(), kWhat, ": unknown key '", key, "'");
  }
  TrainConfig c;
  Pending pending;
  for (const auto& rule : key_table()) {
    if (source.has(rule.key)) rule.apply(source, rule.key, c, pending);
  }
  c.extra_logs = pending.activation == "relu" ? 0 : static_cast<int>(pending.k);
  TORCH_CHECK(!c.decoupled || c.extra_logs > 0, kWhat, ": 'decoupled' needs the l0 activation (its extra logs move into the regularizer)");
  return c;
}

}  // namespace l0sparse::train
