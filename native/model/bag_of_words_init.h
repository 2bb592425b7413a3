#pragma once
// A "bag of words" starting point for models trained from scratch (no pretrained weights exist here):
// residual branches (attention and FFN output projections) start at zero, position/type embeddings at
// zero, word embeddings with a large spread, the MLM-head transform a scaled identity, and a negative
// decoder bias. Then the hidden state of token t stays a function of its own embedding E_t, its logit
// for vocabulary id t is ~0.86·D while every other id's is ~N(0, D), and the bias cuts the others: the
// untrained document vector is the document's own tokens. Training starts from lexical matching and
// learns weighting and expansion, instead of from a dense random vector.
#include "model/mlm_model.h"

namespace l0sparse::model {

struct BagOfWordsInit {
  double embedding_std = 1.0;
  double head_scale = 10.0;
  // Decoder bias = -bias_per_dim * hidden_size (about half the own-token logit).
  double bias_per_dim = 0.43;
  uint64_t seed = 42;
};

void init_bag_of_words(MlmModel& model, const BagOfWordsInit& init);

}  // namespace l0sparse::model
