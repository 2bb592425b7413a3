// Masked-LM document encoder: mlmLoad, mlmCreate, mlmEncode (CSR), mlmEncodeDense, mlmSave, mlmDispose.
#include "binding/args.h"
#include "binding/async.h"
#include "binding/batch_args.h"
#include "binding/model_handle.h"
#include "binding/registry.h"
#include "binding/tensors.h"
#include "model/device.h"

#include <c10/core/GradMode.h>

#include <cmath>
#include <cstring>

namespace l0sparse::binding {
namespace {

struct ModelBox {
  std::shared_ptr<model::MlmModel> model;
};

// Distinguishes our Externals from any other External a caller might pass.
const napi_type_tag kModelTag = {0x6c30737061727365ull, 0x6d6c6d6d6f64656cull};

// A json::Value as the JS value JSON.parse would make of its text (no JSON string crosses N-API). Members are
// defined as own data properties, so a "__proto__" key stays a key, as with JSON.parse.
Napi::Value json_to_js(Napi::Env env, const json::Value& v) {
  if (v.is_bool()) return Napi::Boolean::New(env, v.as_bool());
  if (v.is_number()) return Napi::Number::New(env, v.is_integer() ? static_cast<double>(v.as_int()) : v.as_double());
  if (v.is_string()) return Napi::String::New(env, v.as_string());
  if (v.is_array()) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), json_to_js(env, v.items()[i]));
    return a;
  }
  if (v.is_object()) {
    Napi::Object o = Napi::Object::New(env);
    const auto attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
    for (size_t i = 0; i < v.size(); ++i)
      o.DefineProperty(Napi::PropertyDescriptor::Value(v.keys()[i], json_to_js(env, v.items()[i]), attributes));
    return o;
  }
  return env.Null();
}

Napi::Object config_to_js(Napi::Env env, const model::MlmConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", model::architecture_name(c.architecture));
  o.Set("vocabSize", Napi::Number::New(env, static_cast<double>(c.vocab_size)));
  o.Set("hiddenSize", Napi::Number::New(env, static_cast<double>(c.hidden_size)));
  o.Set("numLayers", Napi::Number::New(env, static_cast<double>(c.num_layers)));
  o.Set("numHeads", Napi::Number::New(env, static_cast<double>(c.num_heads)));
  o.Set("intermediateSize", Napi::Number::New(env, static_cast<double>(c.intermediate_size)));
  o.Set("maxPositions", Napi::Number::New(env, static_cast<double>(c.max_positions)));
  o.Set("typeVocabSize", Napi::Number::New(env, static_cast<double>(c.type_vocab_size)));
  o.Set("layerNormEps", Napi::Number::New(env, c.layer_norm_eps));
  o.Set("padTokenId", Napi::Number::New(env, static_cast<double>(c.pad_token_id)));
  o.Set("raw", json_to_js(env, model::config_to_json(c)));
  return o;
}

Napi::Object loaded_to_js(Napi::Env env, std::shared_ptr<model::MlmModel>&& m) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("config", config_to_js(env, m->config()));
  out.Set("device", model::device_name(m->device()));
  out.Set("handle", make_model_handle(env, std::move(m)));
  return out;
}

// The optional `device` of an options object ('cpu' when absent), checked now: a typo or a missing GPU fails
// the call before any work, with model/device.h's message.
at::Device device_option(const Napi::Object& o, const char* fn) {
  Napi::Value v = o.Get("device");
  if (v.IsUndefined()) return at::kCPU;
  if (!v.IsString())
    throw Napi::TypeError::New(o.Env(), std::string(fn) + ": option 'device' must be a string ('cpu', 'cuda' or 'cuda:N')");
  try {
    return model::resolve_device(v.As<Napi::String>().Utf8Value());
  } catch (const c10::Error& e) {
    throw Napi::RangeError::New(o.Env(), std::string(fn) + ": " + e.what_without_backtrace());
  }
}

// Optional options object at `index`: absent/undefined -> {}, anything else but an object is an error.
Napi::Object optional_options(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  if (info.Length() <= index || info[index].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[index].IsObject() || info[index].IsArray() || info[index].IsTypedArray() || info[index].IsFunction())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": options must be an object");
  return info[index].As<Napi::Object>();
}

struct EncodeRequest {
  std::shared_ptr<model::MlmModel> model;
  at::Tensor ids, mask, zero_ids;
  int extra_logs = 0;
  bool bfloat16 = false;
};

// Parses (model, {inputIds, attentionMask, batchSize, seqLen, activation, k, zeroTokenIds, dtype}): the options
// object is a token batch (batch_args.h) plus the encode options.
EncodeRequest encode_request(const Napi::CallbackInfo& info, const char* fn) {
  EncodeRequest r;
  r.model = model_from_handle(info[0], std::string(fn) + " model");
  const model::MlmConfig& c = r.model->config();
  Napi::Object o = object_arg(info, 1, fn);
  TokenBatch batch = token_batch_from_js(o, std::string(fn) + ": options");
  if (batch.seq_len > c.max_positions)
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": seqLen " + std::to_string(batch.seq_len) +
                                                " exceeds the model's max_position_embeddings " + std::to_string(c.max_positions));
  r.ids = std::move(batch.input_ids);
  r.mask = std::move(batch.attention_mask);
  model::check_encoder_inputs(c, r.ids, r.mask);  // ids within the vocabulary, named by position
  r.extra_logs = activation_option(o);
  std::string dtype = string_option(o, "dtype", "float32");
  if (dtype != "float32" && dtype != "bfloat16")
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": dtype must be 'float32' or 'bfloat16', got '" + dtype + "'");
  r.bfloat16 = dtype == "bfloat16";
  Napi::Value zero = o.Get("zeroTokenIds");
  if (!zero.IsUndefined() && !zero.IsNull()) {
    if (!zero.IsTypedArray() || zero.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(info.Env(), std::string(fn) + ": zeroTokenIds must be an Int32Array");
    auto a = zero.As<Napi::Int32Array>();
    r.zero_ids = at::empty({static_cast<int64_t>(a.ElementLength())}, at::kLong);
    int64_t* out = r.zero_ids.data_ptr<int64_t>();
    for (size_t i = 0; i < a.ElementLength(); ++i) {
      if (a[i] < 0 || a[i] >= c.vocab_size)
        throw Napi::RangeError::New(info.Env(), std::string(fn) + ": zeroTokenIds[" + std::to_string(i) + "] = " +
                                                    std::to_string(a[i]) + " is outside the vocabulary");
      out[i] = a[i];
    }
  }
  return r;
}

at::Tensor run_encode(const EncodeRequest& r) {
  // Inference semantics (no dropout, no autograd) even on a model a trainer left in train mode; unlike
  // toggling eval()/train(), this never changes the mode another thread may be relying on.
  at::Tensor w;
  {
    std::shared_lock<std::shared_mutex> parameters(r.model->parameters_mutex());  // not during a train step
    w = r.model->encode(r.ids, r.mask, r.extra_logs, r.bfloat16).contiguous();
  }
  if (r.zero_ids.defined() && r.zero_ids.numel()) w.index_fill_(1, r.zero_ids.to(w.device()), 0.0);
  return w.to(at::kCPU);  // the CSR conversion and the copy into JS memory read host memory (no copy on the CPU)
}

struct CsrResult {
  at::Tensor indptr, indices, values;
  int64_t num_cols = 0;
};

// Row-major nonzeros: within a row, column indices come out increasing.
CsrResult dense_to_csr(const at::Tensor& w) {
  CsrResult r;
  r.num_cols = w.size(1);
  at::Tensor nz = w.ne(0);
  at::Tensor coords = nz.nonzero();  // [nnz, 2] in row-major order
  r.indices = coords.select(1, 1).to(at::kInt).contiguous();
  r.values = w.masked_select(nz).to(at::kFloat).contiguous();
  at::Tensor counts = nz.sum(1, /*keepdim=*/false, at::kLong);
  r.indptr = at::cat({at::zeros({1}, at::kLong), counts.cumsum(0)}).to(at::kInt).contiguous();
  return r;
}

template <typename Array, typename T>
Array copy_out(Napi::Env env, const at::Tensor& t) {
  Array a = Array::New(env, static_cast<size_t>(t.numel()));
  if (t.numel()) std::memcpy(a.Data(), t.data_ptr(), t.numel() * sizeof(T));
  return a;
}

// mlmLoad(dir, {device}): a transformers model directory, on `device` (default 'cpu').
Napi::Value MlmLoad(const Napi::CallbackInfo& info) {
  std::string dir = string_arg(info, 0, "mlmLoad: the directory path");
  at::Device device = device_option(optional_options(info, 1, "mlmLoad"), "mlmLoad");
  return run_async<std::shared_ptr<model::MlmModel>>(
      info.Env(), "l0sparse.mlmLoad", [dir, device] { return model::load_mlm_model(dir, device); }, loaded_to_js);
}

// A plain JS value (what JSON.stringify would keep) as a json::Value, so that a config object crossing N-API
// is read by the same parse_mlm_config as a config.json file. Undefined members are left out, as
// JSON.stringify does; NaN/Infinity, functions, symbols, typed arrays and nesting past 64 levels (a cycle
// included) are refused.
json::Value json_from_js(const Napi::Value& v, const std::string& where, int depth = 0) {
  auto fail = [&](const std::string& why) { return Napi::TypeError::New(v.Env(), "mlmCreate: config" + where + " " + why); };
  if (depth > 64) throw fail("nests deeper than 64 levels (or refers to itself)");
  if (v.IsNull()) return json::Value::null();
  if (v.IsBoolean()) return json::Value::boolean(v.As<Napi::Boolean>().Value());
  if (v.IsString()) return json::Value::string(v.As<Napi::String>().Utf8Value());
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) throw fail("is not a finite number");
    if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) return json::Value::integer(static_cast<int64_t>(d));
    return json::Value::number(d);
  }
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    json::Value out = json::Value::array();
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(json_from_js(a.Get(i), where + "[" + std::to_string(i) + "]", depth + 1));
    return out;
  }
  if (v.IsObject() && !v.IsFunction() && !v.IsTypedArray() && !v.IsArrayBuffer() && !v.IsBuffer()) {
    Napi::Object o = v.As<Napi::Object>();
    Napi::Array names = o.GetPropertyNames();
    json::Value out = json::Value::object();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string key = names.Get(i).ToString().Utf8Value();
      Napi::Value member = o.Get(key);
      if (member.IsUndefined()) continue;
      out.set(key, json_from_js(member, where + "." + key, depth + 1));
    }
    return out;
  }
  throw fail("is not a JSON value (null, boolean, number, string, array or plain object)");
}

// mlmCreate(config, {seed, device}): a freshly initialised model (tests, training from scratch) from a
// config.json-shaped object. The random initialisation is drawn on the CPU and then moved, so a seed gives
// the same model on every device.
Napi::Value MlmCreate(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray())
    throw Napi::TypeError::New(info.Env(), "mlmCreate: expected a config object (the fields of config.json)");
  json::Value config = json_from_js(info[0], "");
  Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(info.Env());
  int64_t seed = int_option(o, "seed", 0, 0, int64_t(1) << 52);
  at::Device device = device_option(o, "mlmCreate");
  return run_async<std::shared_ptr<model::MlmModel>>(
      info.Env(), "l0sparse.mlmCreate",
      [config = std::move(config), seed, device] {
        model::MlmConfig c = model::parse_mlm_config(config, "config");
        at::manual_seed(static_cast<uint64_t>(seed));
        auto m = std::make_shared<model::MlmModel>(std::move(c));
        m->move_to(device);
        m->eval();
        return m;
      },
      loaded_to_js);
}

Napi::Value MlmEncode(const Napi::CallbackInfo& info) {
  EncodeRequest r = encode_request(info, "mlmEncode");
  return run_async<CsrResult>(
      info.Env(), "l0sparse.mlmEncode", [r] { return dense_to_csr(run_encode(r)); },
      [](Napi::Env env, CsrResult&& c) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("indptr", copy_out<Napi::Int32Array, int32_t>(env, c.indptr));
        out.Set("indices", copy_out<Napi::Int32Array, int32_t>(env, c.indices));
        out.Set("values", copy_out<Napi::Float32Array, float>(env, c.values));
        out.Set("numCols", Napi::Number::New(env, static_cast<double>(c.num_cols)));
        return out;
      });
}

Napi::Value MlmEncodeDense(const Napi::CallbackInfo& info) {
  EncodeRequest r = encode_request(info, "mlmEncodeDense");
  return run_async<at::Tensor>(
      info.Env(), "l0sparse.mlmEncodeDense", [r] { return run_encode(r); },
      [](Napi::Env env, at::Tensor&& w) -> Napi::Value { return tensor_to_js(env, w); });
}

Napi::Value MlmSave(const Napi::CallbackInfo& info) {
  auto m = model_from_handle(info[0], "mlmSave model");
  std::string dir = string_arg(info, 1, "mlmSave: the directory path");
  return run_async<bool>(
      info.Env(), "l0sparse.mlmSave", [m, dir] {
        std::shared_lock<std::shared_mutex> parameters(m->parameters_mutex());
        model::save_mlm_model(*m, dir);
        return true;
      },
      [](Napi::Env env, bool&&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value MlmDispose(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "mlmDispose: expected a model handle");
  auto ext = info[0].As<Napi::External<ModelBox>>();
  if (!ext.CheckTypeTag(&kModelTag)) throw Napi::TypeError::New(info.Env(), "mlmDispose: not a model handle");
  ext.Data()->model.reset();  // running workers keep their own reference
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mlmLoad", Napi::Function::New(env, L0SPARSE_SYNC(MlmLoad), "mlmLoad"));
  exports.Set("mlmCreate", Napi::Function::New(env, L0SPARSE_SYNC(MlmCreate), "mlmCreate"));
  exports.Set("mlmEncode", Napi::Function::New(env, L0SPARSE_SYNC(MlmEncode), "mlmEncode"));
  exports.Set("mlmEncodeDense", Napi::Function::New(env, L0SPARSE_SYNC(MlmEncodeDense), "mlmEncodeDense"));
  exports.Set("mlmSave", Napi::Function::New(env, L0SPARSE_SYNC(MlmSave), "mlmSave"));
  exports.Set("mlmDispose", Napi::Function::New(env, L0SPARSE_SYNC(MlmDispose), "mlmDispose"));
}

Registrar registrar(Init);

}  // namespace

Napi::Value make_model_handle(Napi::Env env, std::shared_ptr<model::MlmModel> m) {
  auto ext = Napi::External<ModelBox>::New(env, new ModelBox{std::move(m)}, [](Napi::Env, ModelBox* box) { delete box; });
  ext.TypeTag(&kModelTag);
  return ext;
}

std::shared_ptr<model::MlmModel> model_from_handle(const Napi::Value& handle, const std::string& what) {
  Napi::Env env = handle.Env();
  if (!handle.IsExternal()) throw Napi::TypeError::New(env, what + ": expected a model handle");
  auto ext = handle.As<Napi::External<ModelBox>>();
  if (!ext.CheckTypeTag(&kModelTag)) throw Napi::TypeError::New(env, what + ": not a model handle");
  if (!ext.Data()->model) throw Napi::Error::New(env, what + ": the model was disposed");
  return ext.Data()->model;
}

}  // namespace l0sparse::binding
