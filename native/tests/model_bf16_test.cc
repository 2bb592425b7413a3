// bfloat16 inference of MlmModel::encode: bf16 GEMMs with cached bf16 weight copies. Checked against the
// float32 encode (within bf16 rounding) and against the autocast path training uses; the cache must follow
// parameter updates (an optimizer step changes every result).
#include "model/json.h"
#include "model/mlm_model.h"

#include <ATen/TensorIndexing.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

using namespace l0sparse;

namespace {

std::shared_ptr<model::MlmModel> bert_model() {
  std::string text = R"({"model_type":"bert","vocab_size":500,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
                         "intermediate_size":128,"max_position_embeddings":40,"type_vocab_size":2,"hidden_act":"gelu"})";
  at::manual_seed(21);
  auto m = std::make_shared<model::MlmModel>(model::parse_mlm_config(json::parse(text, "t"), "t"));
  m->eval();
  return m;
}

// max |a - b| / max |a| over the whole batch.
double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / a.abs().max()).item<double>();
}

}  // namespace

TEST(MlmBf16Encode, CloseToFloat32AndToTheAutocastPath) {
  auto m = bert_model();
  at::Tensor ids = at::randint(1, 500, {4, 30}, at::kLong);
  at::Tensor mask = at::ones({4, 30}, at::kInt);
  mask.index_put_({2, at::indexing::Slice(9, at::indexing::None)}, 0);
  at::Tensor fp32 = m->encode(ids, mask, 0);
  at::Tensor bf16 = m->encode(ids, mask, 0, /*bfloat16=*/true);
  EXPECT_EQ(bf16.scalar_type(), at::kFloat);
  ASSERT_EQ(bf16.sizes(), fp32.sizes());
  const double err = relative_error(fp32, bf16);
  EXPECT_GT(err, 0) << "bf16 should round somewhere";
  EXPECT_LT(err, 0.03);
  // The autocast path (used with autograd) computes the same split: agreement within bf16 rounding.
  at::Tensor autocast = m->doc_vectors(ids, mask, 0, /*bfloat16=*/true).detach();
  EXPECT_LT(relative_error(autocast, bf16), 0.03);
  // Same call twice: the cached copies give bit-identical results.
  EXPECT_TRUE(at::equal(bf16, m->encode(ids, mask, 0, true)));
}

TEST(MlmBf16Encode, CachedWeightsFollowParameterUpdates) {
  auto m = bert_model();
  at::Tensor ids = at::randint(1, 500, {2, 12}, at::kLong);
  at::Tensor mask = at::ones({2, 12}, at::kInt);
  at::Tensor before = m->encode(ids, mask, 0, true);
  {
    at::NoGradGuard no_grad;  // as an optimizer step does: in place, bumping the version counters
    for (auto& p : m->parameters()) p.add_(at::randn_like(p) * 0.05);
  }
  at::Tensor after = m->encode(ids, mask, 0, true);
  at::Tensor fp32_after = m->encode(ids, mask, 0);
  EXPECT_GT(relative_error(before, after), 0.05) << "stale bf16 weights were used";
  EXPECT_LT(relative_error(fp32_after, after), 0.03);
}
