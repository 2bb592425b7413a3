// GEMM backend choice (ops/gemm_backend.h): oneDNN and MKL give the same products and the same encoder
// vectors within float32 rounding; forcing and parsing work; training keeps ATen's op.
#include "model/json.h"
#include "model/mlm_model.h"
#include "ops/gemm_backend.h"

#include "model_test_util.h"

#include <ATen/TensorIndexing.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

using namespace l0sparse;
using l0sparse::testing::expect_error;

namespace {

// Restores the process-wide backend after a test that forces one.
struct BackendRestore {
  ops::GemmBackend saved = ops::gemm_backend();
  ~BackendRestore() { ops::set_gemm_backend(saved); }
};

// float64 reference of x w^T + b.
at::Tensor reference_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  at::Tensor y = at::matmul(x.to(at::kDouble), w.to(at::kDouble).t());
  return b.defined() ? y + b.to(at::kDouble) : y;
}

}  // namespace

TEST(GemmBackend, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(ops::parse_gemm_backend("auto"), ops::GemmBackend::Auto);
  EXPECT_EQ(ops::parse_gemm_backend("mkl"), ops::GemmBackend::Mkl);
  EXPECT_EQ(ops::parse_gemm_backend("onednn"), ops::GemmBackend::OneDnn);
  expect_error([] { ops::parse_gemm_backend("MKL2"); }, {"'auto', 'mkl' or 'onednn'", "MKL2"});
}

TEST(GemmBackend, ForcedChoiceIsKeptAndAutoFollowsTheCpuVendor) {
  BackendRestore restore;
  ops::set_gemm_backend(ops::GemmBackend::Mkl);
  EXPECT_EQ(ops::gemm_backend(), ops::GemmBackend::Mkl);
  EXPECT_EQ(ops::gemm_choice().reason, "forced");
  ops::set_gemm_backend(ops::GemmBackend::Auto);
  ops::GemmChoice c = ops::gemm_choice();
  EXPECT_EQ(c.requested, ops::GemmBackend::Auto);
  const bool amd = ops::cpu_vendor() == "AuthenticAMD";
  EXPECT_EQ(c.chosen, amd && ops::onednn_linear_available() ? ops::GemmBackend::OneDnn : ops::GemmBackend::Mkl) << c.reason;
}

TEST(GemmBackend, OneDnnLinearMatchesFloat64Reference) {
  if (!ops::onednn_linear_available()) GTEST_SKIP() << "no oneDNN in this LibTorch";
  at::NoGradGuard no_grad;
  at::manual_seed(3);
  for (auto shape : std::vector<std::vector<int64_t>>{{5, 7}, {3, 37, 96}, {1, 1, 768}}) {
    const int64_t in = shape.back(), out = in == 96 ? 200 : 13;
    at::Tensor x = at::randn(shape), w = at::randn({out, in}), b = at::randn({out});
    at::Tensor expected = reference_linear(x, w, b);
    at::Tensor got = ops::onednn_linear(x, w, b);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_EQ(got.scalar_type(), at::kFloat);
    // float32 with K = in terms: error ~ sqrt(K) * eps * |x||w|; 1e-4 relative to the row scale is ample.
    EXPECT_LT((got.to(at::kDouble) - expected).abs().max().item<double>(), 1e-4 * std::sqrt(double(in)) * 4);
    at::Tensor no_bias = ops::onednn_linear(x, w, at::Tensor());
    EXPECT_LT((no_bias.to(at::kDouble) - reference_linear(x, w, at::Tensor())).abs().max().item<double>(),
              1e-4 * std::sqrt(double(in)) * 4);
  }
}

TEST(GemmBackend, EncoderVectorsAgreeAcrossBackendsAndTrainingUsesAten) {
  if (!ops::onednn_linear_available()) GTEST_SKIP() << "no oneDNN in this LibTorch";
  BackendRestore restore;
  std::string text = R"({"model_type":"distilbert","vocab_size":300,"dim":64,"n_layers":2,"n_heads":4,"hidden_dim":128,
                         "max_position_embeddings":32,"activation":"gelu","sinusoidal_pos_embds":true})";
  at::manual_seed(11);
  model::MlmModel m(model::parse_mlm_config(json::parse(text, "t"), "t"));
  m.eval();
  at::Tensor ids = at::randint(1, 300, {3, 20}, at::kLong);
  at::Tensor mask = at::ones({3, 20}, at::kInt);
  mask.index_put_({1, at::indexing::Slice(12, at::indexing::None)}, 0);
  ops::set_gemm_backend(ops::GemmBackend::Mkl);
  at::Tensor mkl = m.encode(ids, mask, 1);
  ops::set_gemm_backend(ops::GemmBackend::OneDnn);
  at::Tensor dnn = m.encode(ids, mask, 1);
  ASSERT_EQ(mkl.sizes(), dnn.sizes());
  EXPECT_GT(mkl.ne(0).sum().item<int64_t>(), 0);
  EXPECT_TRUE(at::allclose(mkl, dnn, /*rtol=*/1e-4, /*atol=*/1e-5))
      << "max diff " << (mkl - dnn).abs().max().item<double>();
  // With autograd on, LinearLayer uses at::linear: gradients exist whatever the backend.
  m.train();
  at::Tensor w = m.doc_vectors(ids, mask, 1);
  w.sum().backward();
  EXPECT_TRUE(m.decoder_bias().grad().defined());
}

TEST(GemmBackend, NativeBf16DetectionIsConsistentWithOneDnn) {
  // Where the CPU reports native bf16, oneDNN's bf16 linear must run and agree with a float32 product of the
  // rounded operands (fp32 accumulation).
  if (!ops::cpu_has_native_bf16() || !ops::onednn_linear_available()) GTEST_SKIP() << "no native bf16";
  at::NoGradGuard no_grad;
  at::manual_seed(5);
  at::Tensor x = at::randn({17, 64}).to(at::kBFloat16), w = at::randn({40, 64}).to(at::kBFloat16);
  at::Tensor got = ops::onednn_linear(x, w, at::Tensor()).to(at::kDouble);
  at::Tensor expected = reference_linear(x, w, at::Tensor());
  // Only the bf16 rounding of the output remains: 2^-8 relative.
  EXPECT_LT(((got - expected).abs() / (expected.abs() + 1e-3)).max().item<double>(), 1.0 / 128);
}
