#include "model/bag_of_words_init.h"

#include <ATen/ops/eye.h>
#include <c10/util/Exception.h>
#include <cmath>
#include <torch/csrc/autograd/grad_mode.h>

namespace l0sparse::model {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Output projections of the residual branches, in both architectures' names.
bool residual_output(const std::string& name) {
  return contains(name, ".attention.out_lin.") || contains(name, ".ffn.lin2.") ||
         contains(name, ".attention.output.dense.") ||
         (contains(name, ".output.dense.") && !contains(name, ".attention."));
}

}  // namespace

void init_bag_of_words(MlmModel& model, const BagOfWordsInit& init) {
  TORCH_CHECK(init.embedding_std > 0 && init.head_scale > 0 && init.bias_per_dim >= 0 && std::isfinite(init.embedding_std) &&
                  std::isfinite(init.head_scale) && std::isfinite(init.bias_per_dim),
              "bag-of-words init: embedding_std and head_scale must be finite and > 0, bias_per_dim finite and >= 0");
  at::NoGradGuard no_grad;
  at::manual_seed(init.seed);
  const auto& cfg = model.config();
  const double bias = -init.bias_per_dim * static_cast<double>(cfg.hidden_size);
  int touched = 0;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor p = item.value();
    if (ends_with(name, "word_embeddings.weight")) {
      // Drawn by the CPU generator on every device, so a model on a GPU starts from the CPU run's values.
      if (p.is_cpu()) p.normal_(0.0, init.embedding_std);
      else p.copy_(at::empty(p.sizes(), p.options().device(at::kCPU)).normal_(0.0, init.embedding_std));
      if (cfg.pad_token_id >= 0 && cfg.pad_token_id < p.size(0)) p[cfg.pad_token_id].zero_();
    } else if (ends_with(name, "position_embeddings.weight") || ends_with(name, "token_type_embeddings.weight") ||
               residual_output(name)) {
      p.zero_();
    } else if (ends_with(name, "vocab_transform.weight") || ends_with(name, "transform.dense.weight")) {
      p.copy_(at::eye(p.size(0), p.options()) * init.head_scale);
    } else if (ends_with(name, "vocab_transform.bias") || ends_with(name, "transform.dense.bias")) {
      p.zero_();
    } else if (ends_with(name, "vocab_projector.bias") || name == "cls.predictions.bias") {
      p.fill_(bias);
    } else {
      continue;
    }
    ++touched;
  }
  TORCH_CHECK(touched >= 5, "bag-of-words init: the model's parameter names were not recognised (", touched, " set)");
}

}  // namespace l0sparse::model
