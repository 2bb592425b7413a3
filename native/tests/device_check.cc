// Device check of the model and trainer (scripts/gpu-check.sh runs it on a machine with a GPU): the tiny
// fixture models of test/fixtures/models on --device (e.g. cuda) against the same models on the CPU.
//   encode    float32 document vectors equal the CPU's within 1e-4 (relative to the largest weight);
//             bfloat16 autocast on the device runs and gives finite vectors (its error is printed)
//   train     3 steps with dropout 0 (KL loss + FLOPS regularizer, AdamW): per-step losses within 1e-4, and the
//             parameter updates (final - initial) within 1e-2 relative (Adam normalises each gradient, so this
//             compares the updates, not the parameters, whose difference would hide in their size)
//   bf16      one bfloat16-autocast train step on the device: finite loss
//   resume    with dropout on: 2 steps, save model + optimizer state, a 3rd step; a fresh trainer loaded from the
//             checkpoint takes the same 3rd step (restored AdamW state and the device's generator state, so the
//             same dropout masks): parameters within 1e-4
// Prints one PASS/FAIL line per check; exit 0 when all pass. With --device cpu it compares the CPU with itself
// (every check must then pass exactly): that exercises this program on machines without a GPU.
// Usage: l0sparse_device_check [--device cuda] [--models test/fixtures/models]
#include "model/device.h"
#include "model/mlm_model.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

using namespace l0sparse;

namespace {

int failures = 0;

void check(const std::string& name, const std::function<std::string()>& run) {
  try {
    std::string detail = run();
    std::printf("PASS %s%s\n", name.c_str(), detail.empty() ? "" : (" (" + detail + ")").c_str());
  } catch (const std::exception& e) {
    ++failures;
    const auto* c10 = dynamic_cast<const c10::Error*>(&e);
    std::printf("FAIL %s: %s\n", name.c_str(), c10 ? c10->what_without_backtrace() : e.what());
  }
  std::fflush(stdout);
}

// max |a - b| / max |b| (both moved to the CPU, compared in double).
double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor x = a.detach().to(at::kCPU, at::kDouble), y = b.detach().to(at::kCPU, at::kDouble);
  return (x - y).abs().max().item<double>() / std::max(y.abs().max().item<double>(), 1e-30);
}

// Four documents of 32, 20, 9 and 3 tokens ([CLS] ... [SEP], padded with 0), ids from a fixed LCG.
struct Docs {
  at::Tensor ids, mask;
};
Docs documents(int64_t vocab) {
  const int64_t B = 4, L = 32, lengths[B] = {32, 20, 9, 3};
  Docs d{at::zeros({B, L}, at::kInt), at::zeros({B, L}, at::kInt)};
  uint64_t state = 12345;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < lengths[b]; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const int64_t id = i == 0 ? 101 : i == lengths[b] - 1 ? 102 : 1000 + static_cast<int64_t>((state >> 33) % (vocab - 1000));
      d.ids[b][i] = id;
      d.mask[b][i] = 1;
    }
  return d;
}

// Two queries over groups of two documents, made of tokens of their positive documents; KL teacher scores.
train::TrainBatch batch(const Docs& d) {
  train::TrainBatch b;
  b.input_ids = d.ids;
  b.attention_mask = d.mask;
  b.group_size = 2;
  b.query_indptr = at::tensor({0, 3, 5}, at::kInt);
  b.query_indices = at::cat({d.ids[0].narrow(0, 1, 3), d.ids[2].narrow(0, 1, 2)}).to(at::kInt).contiguous();
  b.query_values = at::tensor({1.5f, 0.5f, 2.0f, 1.0f, 0.7f});
  b.teacher = at::tensor({3.0f, 1.0f, 2.5f, 0.5f}).view({2, 2});
  return b;
}

train::TrainConfig train_config(bool bf16) {
  train::TrainConfig c;
  c.lr = 5e-4;
  c.warmup_steps = 0;
  c.total_steps = 100;
  c.lambda = 0.01;
  c.lambda_warmup = 0;
  c.threshold = -1;  // plain FLOPS on every document: the regularizer's gradient is exercised too
  c.bfloat16 = bf16;
  return c;
}

std::shared_ptr<model::MlmModel> load(const std::string& dir, const at::Device& device, bool dropout) {
  model::MlmConfig config = model::load_mlm_config(dir);
  if (!dropout) config.hidden_dropout = config.attention_dropout = 0;
  auto m = std::make_shared<model::MlmModel>(config);
  m->load_checkpoint(model::read_checkpoint_dir(dir), dir);
  m->move_to(device);
  return m;
}

std::vector<at::Tensor> snapshot(const model::MlmModel& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().to(at::kCPU, at::kDouble, false, /*copy=*/true));
  return out;
}

// || (after_a - before) - (after_b - before) || / || after_b - before || over all parameters.
double update_rel_diff(const std::vector<at::Tensor>& before, const std::vector<at::Tensor>& a,
                       const std::vector<at::Tensor>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    diff += (a[i] - b[i]).pow(2).sum().item<double>();
    norm += (b[i] - before[i]).pow(2).sum().item<double>();
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

double params_rel_diff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, rel_diff(a[i], b[i]));
  return worst;
}

void check_model(const std::string& dir, const std::string& name, const at::Device& device) {
  const at::Device cpu(at::kCPU);
  auto reference = load(dir, cpu, true);
  const Docs docs = documents(reference->config().vocab_size);
  const at::Tensor w_cpu = reference->encode(docs.ids, docs.mask, 1);

  check("encode " + name + " float32 on " + model::device_name(device), [&] {
    auto m = model::load_mlm_model(dir, device);
    TORCH_CHECK(m->device() == device && m->decoder_weight().device() == device, "the model is on ", m->device());
    at::Tensor w = m->encode(docs.ids, docs.mask, 1);
    TORCH_CHECK(w.device() == device, "the vectors came back on ", w.device());
    const double rel = rel_diff(w, w_cpu);
    TORCH_CHECK(rel <= 1e-4, "max |w - w_cpu| / max |w_cpu| = ", rel, " > 1e-4");
    TORCH_CHECK(at::equal(w.to(at::kCPU).ne(0), w_cpu.ne(0)) || rel <= 1e-6, "the nonzero patterns differ");
    return c10::str("max rel diff ", rel, ", ", w_cpu.ne(0).sum().item<int64_t>(), " nonzeros");
  });
  check("encode " + name + " bfloat16 autocast on " + model::device_name(device), [&] {
    auto m = model::load_mlm_model(dir, device);
    at::Tensor w = m->encode(docs.ids, docs.mask, 1, /*bfloat16=*/true);
    TORCH_CHECK(w.scalar_type() == at::kFloat && at::isfinite(w).all().item<bool>(), "non-finite bfloat16 vectors");
    return c10::str("max rel diff to the CPU float32 vectors ", rel_diff(w, w_cpu), " (bfloat16 rounding)");
  });

  const train::TrainBatch b = batch(docs);
  check("train " + name + " 3 steps, dropout 0, on " + model::device_name(device) + " vs cpu", [&] {
    auto on_cpu = load(dir, cpu, false), on_device = load(dir, device, false);
    const std::vector<at::Tensor> before = snapshot(*on_cpu);
    train::Trainer t_cpu(on_cpu, train_config(false)), t_device(on_device, train_config(false));
    double worst_loss = 0;
    for (int s = 0; s < 3; ++s) {
      const double a = t_device.step(b).loss, r = t_cpu.step(b).loss;
      TORCH_CHECK(std::isfinite(a), "step ", s, ": loss ", a);
      worst_loss = std::max(worst_loss, std::abs(a - r) / std::max(std::abs(r), 1.0));
    }
    TORCH_CHECK(worst_loss <= 1e-4, "losses differ by ", worst_loss, " (relative) > 1e-4");
    const double upd = update_rel_diff(before, snapshot(*on_device), snapshot(*on_cpu));
    TORCH_CHECK(upd <= 1e-2, "parameter updates differ by ", upd, " (relative) > 1e-2");
    return c10::str("loss rel diff ", worst_loss, ", update rel diff ", upd);
  });
  check("train " + name + " bfloat16 step on " + model::device_name(device), [&] {
    train::Trainer t(load(dir, device, false), train_config(true));
    const double loss = t.step(b).loss;
    TORCH_CHECK(std::isfinite(loss), "loss ", loss);
    return c10::str("loss ", loss);
  });
  check("resume " + name + " with dropout on " + model::device_name(device), [&] {
    const std::string tmp = (std::filesystem::temp_directory_path() /
                             ("l0sparse-device-check-" + name + "-" + std::to_string(::getpid()))).string();  // concurrent runs
    std::filesystem::remove_all(tmp);
    auto a = load(dir, device, true);
    train::Trainer t_a(a, train_config(false));
    t_a.step(b);
    t_a.step(b);
    model::save_mlm_model(*a, tmp);
    t_a.save_state(tmp);
    t_a.step(b);
    auto resumed = load(tmp, device, true);
    train::Trainer t_b(resumed, train_config(false));
    t_b.load_state(tmp);
    t_b.step(b);
    std::filesystem::remove_all(tmp);
    const double rel = params_rel_diff(snapshot(*resumed), snapshot(*a));
    TORCH_CHECK(rel <= 1e-4, "resumed parameters differ by ", rel, " (relative) > 1e-4");
    return c10::str("max rel diff ", rel);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_arg = "cuda", models = "test/fixtures/models";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--device") device_arg = argv[i + 1];
    else if (flag == "--models") models = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--device cuda|cuda:N|cpu] [--models DIR]\n", argv[0]);
      return 2;
    }
  }
  at::Device device(at::kCPU);
  try {
    device = model::resolve_device(device_arg);
  } catch (const c10::Error& e) {
    std::printf("FAIL device %s: %s\n", device_arg.c_str(), e.what_without_backtrace());
    return 1;
  }
  for (const char* name : {"bert", "distilbert"}) check_model(models + "/" + name, name, device);
  std::printf("device check on %s: %s\n", model::device_name(device).c_str(), failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
