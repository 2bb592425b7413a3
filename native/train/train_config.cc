// TrainConfig from JSON (camelCase keys, as the TS API sends them). Unknown keys are rejected, not ignored.
#include "model/json.h"
#include "train/trainer.h"

#include <c10/util/Exception.h>

#include <set>

namespace l0sparse::train {

TrainConfig parse_train_config(const std::string& text) {
  const std::string src = "train config";
  json::Value v = json::parse(text, src);
  TORCH_CHECK(v.is_object(), src, ": expected a JSON object");
  static const std::set<std::string> known = {
      "loss", "temperature", "infoNceScale", "activation", "k", "decoupled", "lambda", "lambdaWarmup",
      "threshold", "lr", "weightDecay", "adamBeta1", "adamBeta2", "adamEps", "warmupSteps", "totalSteps",
      "maxGradNorm", "gradAccumulation", "bf16", "seed", "regularizerPerSlot"};
  for (const auto& key : v.keys()) TORCH_CHECK(known.count(key), src, ": unknown key '", key, "'");

  TrainConfig c;
  if (auto s = json::optional_string(v, "loss", src)) {
    if (*s == "kl") c.loss = RankingLoss::KlDistillation;
    else if (*s == "margin_mse") c.loss = RankingLoss::MarginMse;
    else if (*s == "info_nce") c.loss = RankingLoss::InfoNce;
    else TORCH_CHECK(false, src, ": 'loss' must be kl, margin_mse or info_nce, got '", *s, "'");
  }
  auto number = [&](const char* key, double& out, double lo, double hi) {
    if (auto d = json::optional_number(v, key, src)) {
      TORCH_CHECK(*d >= lo && *d <= hi, src, ": '", key, "' must be in [", lo, ", ", hi, "], got ", *d);
      out = *d;
    }
  };
  auto integer = [&](const char* key, int64_t& out, int64_t lo, int64_t hi) {
    if (auto i = json::optional_int(v, key, src)) {
      TORCH_CHECK(*i >= lo && *i <= hi, src, ": '", key, "' must be an integer in [", lo, ", ", hi, "], got ", *i);
      out = *i;
    }
  };
  int64_t k = 1;
  integer("k", k, 1, 3);
  std::string activation = json::optional_string(v, "activation", src).value_or("l0");
  TORCH_CHECK(activation == "relu" || activation == "l0", src, ": 'activation' must be relu or l0, got '", activation, "'");
  c.extra_logs = activation == "relu" ? 0 : static_cast<int>(k);
  c.decoupled = json::optional_bool(v, "decoupled", src).value_or(false);
  TORCH_CHECK(!c.decoupled || c.extra_logs > 0, src, ": 'decoupled' needs the l0 activation (its extra logs move into the regularizer)");
  number("temperature", c.temperature, 1e-6, 1e6);
  number("infoNceScale", c.info_nce_scale, 1e-6, 1e6);
  number("lambda", c.lambda, 0, 1e6);
  integer("lambdaWarmup", c.lambda_warmup, 0, int64_t(1) << 40);
  number("threshold", c.threshold, -1, 1e9);
  number("lr", c.lr, 0, 10);
  number("weightDecay", c.weight_decay, 0, 10);
  number("adamBeta1", c.adam_beta1, 0, 0.999999);
  number("adamBeta2", c.adam_beta2, 0, 0.999999999);
  number("adamEps", c.adam_eps, 1e-12, 1);
  integer("warmupSteps", c.warmup_steps, 0, int64_t(1) << 40);
  integer("totalSteps", c.total_steps, 1, int64_t(1) << 40);
  number("maxGradNorm", c.max_grad_norm, 0, 1e9);
  integer("gradAccumulation", c.grad_accumulation, 1, 1 << 20);
  c.bfloat16 = json::optional_bool(v, "bf16", src).value_or(false);
  c.regularizer_per_slot = json::optional_bool(v, "regularizerPerSlot", src).value_or(true);
  int64_t seed = static_cast<int64_t>(c.seed);
  integer("seed", seed, 0, (int64_t(1) << 53));
  c.seed = static_cast<uint64_t>(seed);
  return c;
}

}  // namespace l0sparse::train
