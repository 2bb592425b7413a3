#include "train/mlm_loss.h"

#include <c10/util/Exception.h>

namespace l0sparse::train {

MaskedLmLoss masked_lm_loss(model::MlmModel& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                            const at::Tensor& labels, bool bfloat16) {
  TORCH_CHECK(labels.defined() && labels.sizes() == input_ids.sizes(), "mlmStep: labels must have the shape of the input ids ",
              input_ids.sizes(), ", got ", labels.defined() ? labels.sizes() : at::IntArrayRef{});
  TORCH_CHECK(labels.scalar_type() == at::kInt || labels.scalar_type() == at::kLong, "mlmStep: labels must be integers");
  const at::Tensor flat = labels.reshape(-1).to(at::kLong);
  const at::Tensor positions = flat.ne(kNotPredicted).nonzero().reshape(-1);
  TORCH_CHECK(positions.numel() > 0, "mlmStep: no position is masked (every label is ", kNotPredicted, ")");
  const at::Tensor targets = flat.index_select(0, positions);
  const int64_t vocab = model.config().vocab_size;
  TORCH_CHECK(targets.min().item<int64_t>() >= 0 && targets.max().item<int64_t>() < vocab,
              "mlmStep: labels must be -100 or token ids in [0, ", vocab, ")");
  TORCH_CHECK(attention_mask.reshape(-1).index_select(0, positions).ne(0).all().item<bool>(),
              "mlmStep: a masked position is padding (its attention mask is 0)");

  const at::Tensor logits = model.position_logits(input_ids, attention_mask, positions, bfloat16);
  const at::Tensor on_device = targets.to(logits.device());
  MaskedLmLoss out;
  out.loss = at::cross_entropy_loss(logits, on_device);
  out.predicted = positions.numel();
  out.accuracy = logits.detach().argmax(1).eq(on_device).to(at::kDouble).mean().item<double>();
  return out;
}

}  // namespace l0sparse::train
