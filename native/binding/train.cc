// Native training: trainerCreate (sync), trainerStep / trainerMlmStep / trainerSave / trainerLoad (Promises).
// The trainer works on the parameters of a model handle from model.cc; its mutex serialises steps, and
// checkpoints write the model (transformers layout) plus optimizer.pt into a directory.
#include "binding/args.h"
#include "binding/async.h"
#include "binding/batch_args.h"
#include "binding/csr_args.h"
#include "binding/model_handle.h"
#include "binding/registry.h"
#include "model/bag_of_words_init.h"
#include "train/trainer.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace l0sparse::binding {
namespace {

struct TrainerBox {
  std::shared_ptr<model::MlmModel> model;
  std::shared_ptr<train::Trainer> trainer;
};

const napi_type_tag kTrainerTag = {0x6c30737061727365ull, 0x747261696e657221ull};

TrainerBox& trainer_from(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (!v.IsExternal()) throw Napi::TypeError::New(env, std::string(what) + ": expected a trainer handle");
  auto ext = v.As<Napi::External<TrainerBox>>();
  if (!ext.CheckTypeTag(&kTrainerTag)) throw Napi::TypeError::New(env, std::string(what) + ": not a trainer handle");
  return *ext.Data();
}

// The train config as the JS object the API hands over, read by the key table of native/train/train_config.cc.
// Undefined values count as absent (TS optional fields).
class JsConfig : public train::ConfigSource {
 public:
  explicit JsConfig(Napi::Object o) : o_(o) {}
  std::vector<std::string> keys() const override {
    std::vector<std::string> out;
    Napi::Array names = o_.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string key = names.Get(i).ToString().Utf8Value();
      if (has(key)) out.push_back(key);
    }
    return out;
  }
  bool has(const std::string& key) const override { return o_.Has(key) && !o_.Get(key).IsUndefined(); }
  double number(const std::string& key) const override {
    Napi::Value v = o_.Get(key);
    if (!v.IsNumber()) throw Napi::TypeError::New(o_.Env(), "train config: '" + key + "' must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  bool boolean(const std::string& key) const override {
    Napi::Value v = o_.Get(key);
    if (!v.IsBoolean()) throw Napi::TypeError::New(o_.Env(), "train config: '" + key + "' must be true or false");
    return v.As<Napi::Boolean>().Value();
  }
  std::string text(const std::string& key) const override {
    Napi::Value v = o_.Get(key);
    if (!v.IsString()) throw Napi::TypeError::New(o_.Env(), "train config: '" + key + "' must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

 private:
  Napi::Object o_;
};

Napi::Value TrainerCreate(const Napi::CallbackInfo& info) {
  auto model = model_from_handle(info[0], "trainerCreate model");
  Napi::Object config = object_arg(info, 1, "trainerCreate config");
  auto trainer = std::make_shared<train::Trainer>(model, train::read_train_config(JsConfig(config)));
  auto ext = Napi::External<TrainerBox>::New(info.Env(), new TrainerBox{model, trainer},
                                             [](Napi::Env, TrainerBox* box) { delete box; });
  ext.TypeTag(&kTrainerTag);
  return ext;
}

// The fields every step reports (train::Trainer::backward_and_update fills them).
template <class Metrics>
void set_step_fields(Napi::Object& out, const Metrics& m) {
  out.Set("lr", m.lr);
  out.Set("gradNorm", m.grad_norm);
  out.Set("seconds", m.seconds);
  out.Set("threads", m.threads);
  out.Set("step", static_cast<double>(m.step));
  out.Set("optimizerStepped", m.optimizer_stepped);
}

// A CSR copy's arrays as the 1-D tensors train::TrainBatch holds.
template <typename T>
at::Tensor tensor_of(const std::vector<T>& v, at::ScalarType type) {
  at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, type);
  if (!v.empty()) std::memcpy(t.data_ptr(), v.data(), v.size() * sizeof(T));
  return t;
}

// trainerStep(trainer, { docs: DocumentBatch, queries: Csr, groupSize, teacher?: Float32Array }): the two batch
// shapes of the boundary (batch_args.h, csr_args.h) as lib/train/native-trainer.ts's TrainBatch holds them. The
// binding checks shapes and types; the Trainer checks what needs the model or the loss (groups, query rows,
// token ids, empty documents, teacher shape and values).
Napi::Value TrainerStep(const Napi::CallbackInfo& info) {
  TrainerBox box = trainer_from(info[0], "trainStep trainer");
  Napi::Object o = object_arg(info, 1, "trainStep batch");
  TokenBatch docs = token_batch_from_js(o.Get("docs"), "trainStep: docs");
  train::TrainBatch b;
  b.input_ids = std::move(docs.input_ids);
  b.attention_mask = std::move(docs.attention_mask);
  b.group_size = required_int_option(o, "groupSize", 1, INT32_MAX, "trainStep");
  // Query vectors are token presence x idf: finite and >= 0, columns of the model's vocabulary.
  const CsrCopy queries = csr_from_js(o.Get("queries"), "trainStep: queries", index::ValueRule::kNonNegative);
  const int64_t vocab = box.model->config().vocab_size;
  if (queries.num_cols != vocab)
    throw Napi::RangeError::New(info.Env(), "trainStep: queries.numCols is " + std::to_string(queries.num_cols) +
                                                " but the model's vocabulary has " + std::to_string(vocab) + " tokens");
  b.query_indptr = tensor_of(queries.indptr, at::kInt);
  b.query_indices = tensor_of(queries.indices, at::kInt);
  b.query_values = tensor_of(queries.values, at::kFloat);
  Napi::Value teacher = o.Get("teacher");
  if (!teacher.IsUndefined() && !teacher.IsNull()) {
    if (!teacher.IsTypedArray() || teacher.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(info.Env(), "trainStep: teacher must be a Float32Array (one score per document)");
    auto scores = teacher.As<Napi::Float32Array>();
    b.teacher = at::empty({static_cast<int64_t>(scores.ElementLength())}, at::kFloat);
    if (scores.ElementLength()) std::memcpy(b.teacher.data_ptr(), scores.Data(), scores.ElementLength() * sizeof(float));
    // [Q, G] when it splits into groups; otherwise the Trainer's shape check names the length it got.
    if (b.teacher.numel() % b.group_size == 0) b.teacher = b.teacher.view({-1, b.group_size});
  }
  auto trainer = box.trainer;
  auto model = box.model;
  return run_async<train::TrainMetrics>(
      info.Env(), "l0sparse.trainStep", [trainer, model, b]() { return trainer->step(b); },
      [](Napi::Env env, train::TrainMetrics&& m) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("loss", m.loss);
        out.Set("rankingLoss", m.ranking_loss);
        out.Set("regularizerLoss", m.regularizer_loss);
        out.Set("lambda", m.lambda);
        out.Set("meanDocNnz", m.mean_doc_nnz);
        out.Set("batchFlops", m.batch_flops);
        out.Set("maskRate", m.mask_rate);
        set_step_fields(out, m);
        return out;
      });
}

// mlmStep(trainer, { docs: DocumentBatch (the inputs as masked), labels: Int32Array [batchSize * seqLen] }): the
// token-batch shape of the boundary plus one label per position; the loss checks the label values.
Napi::Value TrainerMlmStep(const Napi::CallbackInfo& info) {
  TrainerBox box = trainer_from(info[0], "mlmStep trainer");
  Napi::Object o = object_arg(info, 1, "mlmStep batch");
  TokenBatch docs = token_batch_from_js(o.Get("docs"), "mlmStep: docs");
  train::MlmBatch b;
  b.input_ids = std::move(docs.input_ids);
  b.attention_mask = std::move(docs.attention_mask);
  Napi::Value labels = o.Get("labels");
  if (!labels.IsTypedArray() || labels.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), "mlmStep: labels must be an Int32Array (one per position, -100 = not predicted)");
  auto values = labels.As<Napi::Int32Array>();
  if (static_cast<int64_t>(values.ElementLength()) != docs.batch_size * docs.seq_len)
    throw Napi::RangeError::New(info.Env(), "mlmStep: labels has " + std::to_string(values.ElementLength()) +
                                                " entries, expected batchSize * seqLen = " + std::to_string(docs.batch_size * docs.seq_len));
  b.labels = at::empty({docs.batch_size, docs.seq_len}, at::kInt);
  std::memcpy(b.labels.data_ptr(), values.Data(), values.ElementLength() * sizeof(int32_t));
  auto trainer = box.trainer;
  auto model = box.model;
  return run_async<train::MlmMetrics>(
      info.Env(), "l0sparse.mlmStep", [trainer, model, b]() { return trainer->mlm_step(b); },
      [](Napi::Env env, train::MlmMetrics&& m) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("loss", m.loss);
        out.Set("accuracy", m.accuracy);
        out.Set("predicted", static_cast<double>(m.predicted));
        set_step_fields(out, m);
        return out;
      });
}

Napi::Value TrainerSave(const Napi::CallbackInfo& info) {
  TrainerBox box = trainer_from(info[0], "trainerSave trainer");
  std::string dir = string_arg(info, 1, "trainerSave dir");
  auto trainer = box.trainer;
  return run_async<bool>(
      info.Env(), "l0sparse.trainerSave",
      [trainer, dir]() {
        trainer->save_model(dir);
        return true;
      },
      [](Napi::Env env, bool&&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value TrainerSaveState(const Napi::CallbackInfo& info) {
  TrainerBox box = trainer_from(info[0], "trainerSaveState trainer");
  std::string dir = string_arg(info, 1, "trainerSaveState dir");
  auto trainer = box.trainer;
  return run_async<bool>(
      info.Env(), "l0sparse.trainerSaveState", [trainer, dir]() { trainer->save_state(dir); return true; },
      [](Napi::Env env, bool&&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value TrainerLoad(const Napi::CallbackInfo& info) {
  TrainerBox box = trainer_from(info[0], "trainerLoad trainer");
  std::string dir = string_arg(info, 1, "trainerLoad dir");
  auto trainer = box.trainer;
  return run_async<double>(
      info.Env(), "l0sparse.trainerLoad",
      [trainer, dir]() { return static_cast<double>(trainer->load_checkpoint(dir)); },
      [](Napi::Env env, double&& steps) -> Napi::Value { return Napi::Number::New(env, steps); });
}

Napi::Value MlmInitBagOfWords(const Napi::CallbackInfo& info) {
  auto m = model_from_handle(info[0], "mlmInitBagOfWords model");
  Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(info.Env());
  model::BagOfWordsInit init;
  auto number = [&](const char* key, double fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("mlmInitBagOfWords: '") + key + "' must be a number");
    return v.As<Napi::Number>().DoubleValue();
  };
  init.embedding_std = number("embeddingStd", init.embedding_std);
  init.head_scale = number("headScale", init.head_scale);
  init.bias_per_dim = number("biasPerDim", init.bias_per_dim);
  init.seed = static_cast<uint64_t>(int_option(o, "seed", 42, 0, int64_t(1) << 53));
  // Synchronous: never wait on the event loop's thread for a step or an encode to finish.
  std::unique_lock<std::shared_mutex> parameters(m->parameters_mutex(), std::try_to_lock);
  if (!parameters.owns_lock())
    throw Napi::Error::New(info.Env(), "mlmInitBagOfWords: the model is in use (a training step, encode or save is "
                                       "running); await it first");
  model::init_bag_of_words(*m, init);
  return info.Env().Undefined();
}

Napi::Value TrainConfigKeys(const Napi::CallbackInfo& info) {
  const auto& keys = train::train_config_keys();
  Napi::Array out = Napi::Array::New(info.Env(), keys.size());
  for (uint32_t i = 0; i < keys.size(); ++i) out.Set(i, Napi::String::New(info.Env(), keys[i]));
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("trainConfigKeys", Napi::Function::New(env, L0SPARSE_SYNC(TrainConfigKeys), "trainConfigKeys"));
  exports.Set("mlmInitBagOfWords", Napi::Function::New(env, L0SPARSE_SYNC(MlmInitBagOfWords), "mlmInitBagOfWords"));
  exports.Set("trainerCreate", Napi::Function::New(env, L0SPARSE_SYNC(TrainerCreate), "trainerCreate"));
  exports.Set("trainerStep", Napi::Function::New(env, L0SPARSE_SYNC(TrainerStep), "trainerStep"));
  exports.Set("trainerMlmStep", Napi::Function::New(env, L0SPARSE_SYNC(TrainerMlmStep), "trainerMlmStep"));
  exports.Set("trainerSaveModel", Napi::Function::New(env, L0SPARSE_SYNC(TrainerSave), "trainerSaveModel"));
  exports.Set("trainerSaveState", Napi::Function::New(env, L0SPARSE_SYNC(TrainerSaveState), "trainerSaveState"));
  exports.Set("trainerLoad", Napi::Function::New(env, L0SPARSE_SYNC(TrainerLoad), "trainerLoad"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding
