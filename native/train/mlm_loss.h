#pragma once
// Masked-LM loss for in-domain pretraining (docs/METHOD.md §8): the cross-entropy of the MLM head at the
// masked positions, averaged over them — what transformers' BertForMaskedLM returns for labels with -100 at
// every position that is not predicted — computed from the masked rows only (MlmModel::position_logits), so
// the [B, L, V] logits of the whole batch are never formed.
#include "model/mlm_model.h"

#include <ATen/ATen.h>

namespace l0sparse::train {

inline constexpr int64_t kNotPredicted = -100;  // transformers' ignore_index

struct MaskedLmLoss {
  at::Tensor loss;         // scalar float32, differentiable
  int64_t predicted = 0;   // positions in the loss
  double accuracy = 0;     // share of them whose top logit is the label
};

// labels [B, L] (int32/int64): the original token id where the input was masked, kNotPredicted elsewhere.
// At least one position must be predicted; labels must be ids of the model's vocabulary.
MaskedLmLoss masked_lm_loss(model::MlmModel& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                            const at::Tensor& labels, bool bfloat16);

}  // namespace l0sparse::train
