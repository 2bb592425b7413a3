// The packed (padding-free) inference forward (model/packed_forward.cc) against the padded forward on the same
// batch: equal within float32 rounding, in float32 and bfloat16, for BERT and DistilBERT; masks that are not a
// prefix of ones fall back to the padded forward.
#include "model/json.h"
#include "model/mlm_model.h"

#include <ATen/TensorIndexing.h>
#include <gtest/gtest.h>

using namespace l0sparse;
using at::indexing::None;
using at::indexing::Slice;

namespace {

std::shared_ptr<model::MlmModel> make(const std::string& type) {
  std::string text = type == "bert"
      ? R"({"model_type":"bert","vocab_size":400,"hidden_size":48,"num_hidden_layers":2,"num_attention_heads":4,
           "intermediate_size":96,"max_position_embeddings":40,"type_vocab_size":2,"hidden_act":"gelu"})"
      : R"({"model_type":"distilbert","vocab_size":400,"dim":48,"n_layers":2,"n_heads":4,"hidden_dim":96,
           "max_position_embeddings":40,"activation":"gelu","sinusoidal_pos_embds":true})";
  at::manual_seed(9);
  auto m = std::make_shared<model::MlmModel>(model::parse_mlm_config(json::parse(text, type), type));
  m->eval();
  at::NoGradGuard no_grad;  // non-zero biases, so every term of the forward matters
  for (auto& p : m->named_parameters())
    if (p.value().dim() == 1) p.value().add_(at::randn_like(p.value()) * 0.1);
  return m;
}

// Five documents of lengths 30, 17, 1, 30, 0 (an empty row) padded to 30.
std::pair<at::Tensor, at::Tensor> batch() {
  at::manual_seed(4);
  at::Tensor ids = at::randint(1, 400, {5, 30}, at::kLong);
  at::Tensor mask = at::ones({5, 30}, at::kInt);
  const int64_t lengths[] = {30, 17, 1, 30, 0};
  for (int64_t b = 0; b < 5; ++b) {
    mask.index_put_({b, Slice(lengths[b], None)}, 0);
    ids.index_put_({b, Slice(lengths[b], None)}, 0);  // [PAD]
  }
  return {ids, mask};
}

class PackedForward : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(PackedForward, EqualsThePaddedForwardInFloat32) {
  auto m = make(GetParam());
  auto [ids, mask] = batch();
  for (int extra_logs : {0, 1}) {
    at::Tensor padded = m->encode(ids, mask, extra_logs, false, /*pack=*/false);
    at::Tensor packed = m->encode(ids, mask, extra_logs, false, /*pack=*/true);
    ASSERT_EQ(packed.sizes(), padded.sizes());
    EXPECT_GT(padded.ne(0).sum().item<int64_t>(), 100);
    EXPECT_TRUE(at::allclose(packed, padded, 1e-5, 1e-6)) << "max diff " << (packed - padded).abs().max().item<double>();
    EXPECT_EQ(packed[4].abs().sum().item<double>(), 0.0);  // the empty document stays empty
  }
}

TEST_P(PackedForward, EqualsThePaddedForwardInBfloat16) {
  auto m = make(GetParam());
  auto [ids, mask] = batch();
  at::Tensor padded = m->encode(ids, mask, 0, true, false);
  at::Tensor packed = m->encode(ids, mask, 0, true, true);
  // bf16 GEMMs over different row counts may round a last bit differently; compare at bf16 resolution.
  const double err = ((packed - padded).abs().max() / padded.abs().max()).item<double>();
  EXPECT_LT(err, 1e-2);
}

TEST_P(PackedForward, NonPrefixMasksUseThePaddedForward) {
  auto m = make(GetParam());
  auto [ids, mask] = batch();
  mask.index_put_({1, 3}, 0);  // a hole inside document 1: not a prefix
  at::Tensor padded = m->encode(ids, mask, 0, false, false);
  EXPECT_TRUE(at::equal(m->encode(ids, mask, 0, false, true), padded));
}

INSTANTIATE_TEST_SUITE_P(Architectures, PackedForward, ::testing::Values("bert", "distilbert"));
