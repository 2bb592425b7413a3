// Device plumbing (model/device.h, MlmModel::move_to): strict device names, a clear error for CUDA on a
// machine or build without it, and the mechanism move_to relies on (torch::nn::Module::to swapping parameter
// data in place, so the model's own tensor handles follow). The CUDA path itself: scripts/gpu-check.sh.
#include "model/device.h"
#include "model/mlm_model.h"
#include "train/trainer.h"

#include "model_test_util.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/serialize/archive.h>

using namespace l0sparse;
using namespace l0sparse::model;
using l0sparse::testing::expect_error;
using l0sparse::testing::TempDir;

namespace {

std::shared_ptr<MlmModel> tiny_bert(uint64_t seed = 3) {
  at::manual_seed(seed);
  auto m = std::make_shared<MlmModel>(parse_mlm_config(
      json::parse(R"({"model_type":"bert","vocab_size":40,"hidden_size":8,"num_hidden_layers":1,
                     "num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":8})", "config"),
      "config"));
  m->eval();
  return m;
}

at::Tensor ids() { return at::tensor({2, 17, 33, 39, 3, 2, 30, 5}, at::kInt).view({2, 4}); }
at::Tensor mask() { return at::tensor({1, 1, 1, 1, 1, 1, 1, 0}, at::kInt).view({2, 4}); }

}  // namespace

TEST(Device, NamesAreParsedStrictly) {
  EXPECT_EQ(parse_device_name("cpu"), c10::Device(c10::kCPU));
  EXPECT_EQ(parse_device_name("cuda"), c10::Device(c10::kCUDA));
  EXPECT_EQ(parse_device_name("cuda:0"), c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(parse_device_name("cuda:12"), c10::Device(c10::kCUDA, 12));
  for (const char* bad : {"gpu", "GPU", "CUDA", "Cpu", "cpu:0", " cuda", "cuda ", "mps", "xpu", ""})
    expect_error([&] { parse_device_name(bad); }, {"unknown device", "'cpu', 'cuda' or 'cuda:N'"});
  for (const char* bad : {"cuda:-1", "cuda:x", "cuda:", "cuda:+1", "cuda:1.5", "cuda:0x1", "cuda:1000"})
    expect_error([&] { parse_device_name(bad); }, {"non-negative integer"});
  expect_error([] { parse_device_name("cuda:200"); }, {"out of range"});  // DeviceIndex is 8 bits
  EXPECT_EQ(device_name(c10::Device(c10::kCPU)), "cpu");
  EXPECT_EQ(device_name(c10::Device(c10::kCUDA, 1)), "cuda:1");
}

TEST(Device, CudaWithoutAGpuIsAClearErrorNamingTheFix) {
  EXPECT_EQ(resolve_device("cpu"), c10::Device(c10::kCPU));
  if (at::hasCUDA()) GTEST_SKIP() << "a GPU is visible: resolving cuda succeeds here";
  EXPECT_EQ(cuda_device_count(), 0);
  for (const char* name : {"cuda", "cuda:0", "cuda:3"}) {
#ifdef L0SPARSE_WITH_CUDA
    expect_error([&] { resolve_device(name); }, {name, "no CUDA GPU is usable", "device 'cpu'"});
#else
    expect_error([&] { resolve_device(name); }, {name, "CPU variant", "L0SPARSE_VARIANT=cuda", "NVIDIA GPU"});
#endif
  }
  expect_error([] { resolve_device("gpu"); }, {"unknown device 'gpu'"});  // syntax first, then availability
}

// move_to relies on Module::to replacing each registered parameter's data in place. Moving dtype takes the same
// path as moving device (to_impl -> set_data) and can be observed on a CPU-only machine: every handle the model
// keeps for its forward must see the new dtype, and the forward must still run on them.
TEST(Device, ModuleToKeepsTheModelsOwnTensorHandlesValid) {
  auto m = tiny_bert();
  at::NoGradGuard no_grad;
  at::Tensor before = m->logits(ids(), mask());
  const void* bias_impl = m->decoder_bias().unsafeGetTensorImpl();
  m->to(at::kDouble);
  EXPECT_EQ(m->decoder_weight().scalar_type(), at::kDouble);
  EXPECT_EQ(m->decoder_bias().scalar_type(), at::kDouble);
  EXPECT_EQ(m->decoder_bias().unsafeGetTensorImpl(), bias_impl);  // same TensorImpl, new data
  for (const auto& p : m->named_parameters()) EXPECT_EQ(p.value().scalar_type(), at::kDouble) << p.key();
  at::Tensor after = m->logits(ids(), mask());  // every layer's weight handle is read here
  EXPECT_EQ(after.scalar_type(), at::kDouble);
  EXPECT_TRUE(at::allclose(after.to(at::kFloat), before, 1e-4, 1e-5));
}

TEST(Device, ExplicitCpuIsTheDefaultBitForBit) {
  auto a = tiny_bert(), b = tiny_bert();
  b->move_to(at::kCPU);  // a no-op: same parameters, same storage
  EXPECT_EQ(b->device(), c10::Device(c10::kCPU));
  EXPECT_TRUE(at::equal(a->encode(ids(), mask(), 1), b->encode(ids(), mask(), 1)));
  TempDir dir;
  save_mlm_model(*a, dir.path());
  auto loaded_default = load_mlm_model(dir.path());
  auto loaded_cpu = load_mlm_model(dir.path(), at::kCPU);
  EXPECT_TRUE(at::equal(loaded_default->encode(ids(), mask(), 1), loaded_cpu->encode(ids(), mask(), 1)));
  for (const auto& [name, t] : loaded_cpu->checkpoint_tensors()) EXPECT_TRUE(t.device().is_cpu()) << name;
}

TEST(Device, TrainerStateRoundTripOnTheCpuHasNoGpuGeneratorState) {
  auto m = tiny_bert();
  train::TrainConfig config;
  config.lambda = 0;
  config.warmup_steps = 0;
  config.lr = 1e-3;
  train::Trainer trainer(m, config);
  train::TrainBatch b;
  b.input_ids = ids();
  b.attention_mask = mask();
  b.group_size = 2;
  b.query_indptr = at::tensor({0, 2}, at::kInt);
  b.query_indices = at::tensor({17, 30}, at::kInt);
  b.query_values = at::tensor({1.0f, 1.0f});
  b.teacher = at::tensor({1.0f, 0.0f}).view({1, 2});
  trainer.step(b);
  TempDir dir;
  trainer.save_state(dir.path());
  torch::serialize::InputArchive archive;
  archive.load_from(dir.file("optimizer.pt"));
  at::Tensor t;
  EXPECT_TRUE(archive.try_read("l0sparse_rng", t));
  EXPECT_FALSE(archive.try_read("l0sparse_cuda_rng", t));
  trainer.load_state(dir.path());
  EXPECT_EQ(trainer.optimizer_steps(), 1);
}
