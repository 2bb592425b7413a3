// Weight-name mapping between transformers checkpoints and MlmModel, and model-directory load/save.
#include "common/file_io.h"
#include "model/files.h"
#include "model/mlm_model.h"

#include <c10/util/Exception.h>

#include <set>
#include <sstream>

namespace l0sparse::model {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tensors that transformers drops without complaint when loading a *ForMaskedLM: the pre-training
// heads of BertForPreTraining checkpoints (bert-base-uncased ships them) and old position-id buffers.
bool ignorable(const std::string& name) {
  return ends_with(name, ".position_ids") || starts_with(name, "bert.pooler.") ||
         starts_with(name, "cls.seq_relationship.");
}

std::string list_names(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size() && i < 8; ++i) out << (i ? ", " : "") << names[i];
  if (names.size() > 8) out << " and " << names.size() - 8 << " more";
  return out.str();
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

// transformers' "legacy" renaming: TF-era checkpoints (bert-base-uncased among them) call LayerNorm
// parameters gamma/beta.
TensorMap with_legacy_names(const TensorMap& tensors, const std::string& source) {
  TensorMap out;
  for (const auto& [name, t] : tensors) {
    std::string renamed = name;
    if (ends_with(name, "LayerNorm.gamma")) renamed = name.substr(0, name.size() - 5) + "weight";
    if (ends_with(name, "LayerNorm.beta")) renamed = name.substr(0, name.size() - 4) + "bias";
    TORCH_CHECK(out.emplace(renamed, t).second, source, ": tensor '", renamed, "' is stored twice (also as '", name, "')");
  }
  return out;
}

}  // namespace

void MlmModel::load_checkpoint(const TensorMap& stored, const std::string& source) {
  const TensorMap tensors = with_legacy_names(stored, source);
  const bool bert = config_.architecture == Architecture::Bert;
  const std::string word_name = bert ? "bert.embeddings.word_embeddings.weight" : "distilbert.embeddings.word_embeddings.weight";
  const std::string tied_weight_alias = bert ? "cls.predictions.decoder.weight" : "vocab_projector.weight";
  const std::string tied_bias_alias = bert ? "cls.predictions.decoder.bias" : "";

  auto check_floating = [&](const std::string& name, const at::Tensor& t) {
    TORCH_CHECK(at::isFloatingType(t.scalar_type()), source, ": tensor '", name, "' has dtype ", t.scalar_type(),
                ", expected a floating-point weight");
  };

  // Vocabulary mismatch gets its own message: it is the usual way a config and a checkpoint disagree.
  if (auto it = tensors.find(word_name); it != tensors.end() && it->second.dim() == 2)
    TORCH_CHECK(it->second.size(0) == config_.vocab_size, source, ": config.json vocab_size = ", config_.vocab_size,
                " but ", word_name, " (the tied MLM decoder) has ", it->second.size(0), " rows");

  auto params = named_parameters(/*recurse=*/true);
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> used;
  at::NoGradGuard no_grad;
  for (auto& p : params) {
    std::string name = p.key();
    auto it = tensors.find(name);
    if (it == tensors.end() && name == decoder_bias_name_ && !tied_bias_alias.empty())
      it = tensors.find(tied_bias_alias);  // older BERT checkpoints store the bias under the decoder's name
    if (it == tensors.end()) {
      missing.push_back(name);
      continue;
    }
    used.insert(it->first);
    if (it->second.sizes() != p.value().sizes()) {
      mismatched.push_back(name + " is " + shape_text(it->second.sizes()) + ", expected " + shape_text(p.value().sizes()));
      continue;
    }
    check_floating(it->first, it->second);
    p.value().copy_(it->second);
  }
  // Tied aliases are allowed but must fit; their values are the tied tensors' (as in transformers).
  if (auto it = tensors.find(tied_weight_alias); it != tensors.end()) {
    used.insert(it->first);
    if (it->second.sizes() != decoder_weight().sizes())
      mismatched.push_back(tied_weight_alias + " is " + shape_text(it->second.sizes()) + ", expected " +
                           shape_text(decoder_weight().sizes()));
  }
  if (!tied_bias_alias.empty())
    if (auto it = tensors.find(tied_bias_alias); it != tensors.end()) {
      used.insert(it->first);
      if (it->second.sizes() != decoder_bias_.sizes())
        mismatched.push_back(tied_bias_alias + " is " + shape_text(it->second.sizes()) + ", expected " +
                             shape_text(decoder_bias_.sizes()));
    }
  for (const auto& [name, t] : tensors)
    if (!used.count(name) && !ignorable(name)) unexpected.push_back(name);

  // A sinusoidal DistilBERT table is a function of the config; older checkpoints may leave it out.
  if (config_.sinusoidal_positions && missing.size() == 1 && missing[0] == "distilbert.embeddings.position_embeddings.weight")
    missing.clear();

  TORCH_CHECK(mismatched.empty(), source, ": tensor shapes do not match config.json: ", list_names(mismatched));
  bool base_model_only = tensors.count("embeddings.word_embeddings.weight") > 0;
  TORCH_CHECK(missing.empty(), source, ": missing tensors for a ", architecture_name(config_.architecture),
              " masked LM: ", list_names(missing),
              base_model_only ? " (this looks like a base model saved without its masked-LM head; save the *ForMaskedLM model)"
              : missing.size() == params.size() ? " (none of the expected names: is this a different architecture?)"
                                                : "");
  TORCH_CHECK(unexpected.empty(), source, ": unexpected tensors (not part of a ", architecture_name(config_.architecture),
              " masked LM with this config): ", list_names(unexpected));
}

std::vector<std::pair<std::string, at::Tensor>> MlmModel::checkpoint_tensors() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : named_parameters(/*recurse=*/true))
    out.emplace_back(p.key(), p.value().detach().to(at::kCPU, at::kFloat).contiguous());  // no copy on the CPU
  return out;
}

std::shared_ptr<MlmModel> load_mlm_model(const std::string& dir, const at::Device& device) {
  MlmConfig config = load_mlm_config(dir);
  TensorMap tensors = read_checkpoint_dir(dir);
  // Allocate the model only after the checkpoint parsed: a bad file fails fast without a second copy.
  auto model = std::make_shared<MlmModel>(std::move(config));
  model->load_checkpoint(tensors, dir);
  model->move_to(device);
  model->eval();
  return model;
}

void save_mlm_model(const MlmModel& model, const std::string& dir) {
  make_directories(dir);
  // Weights first: a config.json never points at weights that are not there yet.
  write_safetensors(join_path(dir, "model.safetensors"), model.checkpoint_tensors());
  std::string config = json::dump(config_to_json(model.config()), 2) + "\n";
  common::write_file_atomic(join_path(dir, "config.json"), [&](std::ostream& out) { out << config; });
}

}  // namespace l0sparse::model
