#include "binding/csr_args.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace l0sparse::binding {
namespace {

template <typename T>
std::vector<T> copy_typed(const Napi::Object& obj, const char* key, napi_typedarray_type type, const char* type_name,
                          const std::string& what) {
  Napi::Value v = obj.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(obj.Env(), what + "." + key + " must be a " + type_name);
  auto array = v.As<Napi::TypedArrayOf<T>>();
  std::vector<T> out(array.ElementLength());
  if (!out.empty()) std::memcpy(out.data(), array.Data(), out.size() * sizeof(T));
  return out;
}

}  // namespace

CsrCopy csr_from_js(const Napi::Value& value, const std::string& what, index::ValueRule rule) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray() || value.IsFunction())
    throw Napi::TypeError::New(env, what + ": expected { indptr: Int32Array, indices: Int32Array, values: Float32Array, numCols }");
  Napi::Object obj = value.As<Napi::Object>();
  CsrCopy csr;
  csr.indptr = copy_typed<int32_t>(obj, "indptr", napi_int32_array, "Int32Array", what);
  csr.indices = copy_typed<int32_t>(obj, "indices", napi_int32_array, "Int32Array", what);
  csr.values = copy_typed<float>(obj, "values", napi_float32_array, "Float32Array", what);
  Napi::Value cols = obj.Get("numCols");
  const double num_cols = cols.IsNumber() ? cols.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!(num_cols >= 1 && num_cols <= INT32_MAX && num_cols == std::floor(num_cols)))
    throw Napi::RangeError::New(env, what + ".numCols must be an integer in [1, 2^31)");
  csr.num_cols = static_cast<int64_t>(num_cols);
  if (csr.indptr.empty()) throw Napi::RangeError::New(env, what + ".indptr must have at least one entry (0)");
  if (csr.indices.size() != csr.values.size())
    throw Napi::RangeError::New(env, what + ": " + std::to_string(csr.indices.size()) + " indices but " +
                                         std::to_string(csr.values.size()) + " values");
  try {
    index::validate_csr(csr.view(), static_cast<int64_t>(csr.indices.size()), rule, what);
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  return csr;
}

Napi::Object csr_to_js(Napi::Env env, const std::vector<int32_t>& indptr, const std::vector<int32_t>& indices,
                       const std::vector<float>& values, int64_t num_cols) {
  auto ip = Napi::Int32Array::New(env, indptr.size());
  auto ix = Napi::Int32Array::New(env, indices.size());
  auto vs = Napi::Float32Array::New(env, values.size());
  if (!indptr.empty()) std::memcpy(ip.Data(), indptr.data(), indptr.size() * sizeof(int32_t));
  if (!indices.empty()) std::memcpy(ix.Data(), indices.data(), indices.size() * sizeof(int32_t));
  if (!values.empty()) std::memcpy(vs.Data(), values.data(), values.size() * sizeof(float));
  Napi::Object out = Napi::Object::New(env);
  out.Set("indptr", ip);
  out.Set("indices", ix);
  out.Set("values", vs);
  out.Set("numCols", Napi::Number::New(env, static_cast<double>(num_cols)));
  return out;
}

std::vector<std::string> strings_from_js(const Napi::Value& value, const std::string& what) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw Napi::TypeError::New(env, what + " must be an array of strings");
  auto array = value.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value s = array.Get(i);
    if (!s.IsString()) throw Napi::TypeError::New(env, what + "[" + std::to_string(i) + "] must be a string");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

}  // namespace l0sparse::binding
