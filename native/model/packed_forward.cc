// Inference forward without padding (MlmModel::forward_hidden_packed). A batch of B documents padded to L
// spends (B*L - tokens) rows of every GEMM, LayerNorm and attention on padding. Here the real tokens of all
// documents are concatenated into one [tokens, D] matrix, so every GEMM has exactly `tokens` rows, and
// attention runs per document on its own [1, H, n, Dh] slice (no mask needed: nothing to mask). Only the
// head goes back to [B, L, D]: the fused head already skips padding rows, and keeps its one interface.
// Same arithmetic as the padded forward (padding keys get exp(-huge) = 0 weight there), so the vectors agree
// to float rounding (tested in native/tests/model_packed_test.cc).
#include "model/mlm_model.h"

#include <ATen/TensorIndexing.h>

namespace l0sparse::model {

bool MlmModel::packable(const at::Tensor& keep) {
  const int64_t L = keep.size(1);
  at::Tensor lengths = keep.sum(1, /*keepdim=*/true);
  if (lengths.min().item<int64_t>() == L) return false;  // no padding: the batched forward is as good
  at::Tensor prefix = at::arange(L, lengths.options()).unsqueeze(0) < lengths;
  return at::equal(prefix, keep);
}

at::Tensor MlmModel::forward_hidden_packed(const at::Tensor& ids, const at::Tensor& keep, bool bf16_gemms) {
  const int64_t B = ids.size(0), L = ids.size(1), D = config_.hidden_size, H = config_.num_heads, Dh = D / H;
  at::Tensor lengths_tensor = keep.sum(1).to(at::kCPU, at::kLong);
  const int64_t* lengths = lengths_tensor.data_ptr<int64_t>();
  at::Tensor rows = keep.reshape(-1).nonzero().squeeze(1);        // flat [B*L] index of each real token
  at::Tensor flat_ids = ids.reshape(-1).index_select(0, rows);    // [T]
  at::Tensor positions = rows.remainder(L);                       // a prefix per row: position = column

  at::Tensor x = at::embedding(word_embeddings_->weight, flat_ids);
  if (token_type_embeddings_) x = x + token_type_embeddings_->weight[0];
  x = embedding_norm_->forward(x + at::embedding(position_embeddings_->weight, positions));  // [T, D]

  // Per document: attention over its own tokens only.
  auto attend = [&](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    at::Tensor context = at::empty_like(q);
    int64_t offset = 0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = lengths[b];
      if (n == 0) continue;
      auto heads = [&](const at::Tensor& t) { return t.narrow(0, offset, n).view({1, n, H, Dh}).transpose(1, 2); };
      at::Tensor out = at::scaled_dot_product_attention(heads(q), heads(k), heads(v));  // [1, H, n, Dh]
      context.narrow(0, offset, n).view({n, H, Dh}).copy_(out.squeeze(0).transpose(0, 1));
      offset += n;
    }
    return context;
  };

  for (const EncoderLayer& layer : layers_) {
    at::Tensor q = dense(*layer.query, x, bf16_gemms);
    at::Tensor k = dense(*layer.key, x, bf16_gemms);
    at::Tensor v = dense(*layer.value, x, bf16_gemms);
    at::Tensor attended = dense(*layer.attention_out, attend(q, k, v), bf16_gemms);
    x = layer.attention_norm->forward(attended + x);
    at::Tensor ffn = dense(*layer.ffn_out, activation(dense(*layer.ffn_in, x, bf16_gemms)), bf16_gemms);
    x = layer.output_norm->forward(ffn + x);
  }
  at::Tensor transformed = activation(dense(*head_dense_, x, bf16_gemms));
  at::Tensor h = head_norm_->forward(bf16_gemms ? transformed.to(at::kFloat) : transformed);  // [T, D]

  at::Tensor padded = at::zeros({B * L, D}, h.options());
  padded.index_copy_(0, rows, h);
  return padded.view({B, L, D});
}

}  // namespace l0sparse::model
