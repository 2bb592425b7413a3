#include "binding/tensors.h"

#include <c10/util/Exception.h>

#include <cstring>
#include <limits>

namespace l0sparse::binding {
namespace {

at::ScalarType dtype_of(napi_typedarray_type type, const std::string& tag, const std::string& what,
                        Napi::Env env) {
  switch (type) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_int32_array: return at::kInt;
    case napi_bigint64_array: return at::kLong;
    case napi_int8_array: return at::kChar;
    case napi_int16_array: return at::kShort;
    case napi_uint8_array: return tag == "bool" ? at::kBool : at::kByte;
    case napi_uint16_array:
      if (tag == "bfloat16") return at::kBFloat16;
      if (tag == "float16") return at::kHalf;
      throw Napi::TypeError::New(env, what + ": a Uint16Array needs dtype 'bfloat16' or 'float16'");
    default:
      throw Napi::TypeError::New(env, what + ": unsupported TypedArray type");
  }
}

Napi::Value make_array(Napi::Env env, at::ScalarType type, size_t count, void** data) {
  switch (type) {
    case at::kFloat: { auto a = Napi::Float32Array::New(env, count); *data = a.Data(); return a; }
    case at::kDouble: { auto a = Napi::Float64Array::New(env, count); *data = a.Data(); return a; }
    case at::kInt: { auto a = Napi::Int32Array::New(env, count); *data = a.Data(); return a; }
    case at::kLong: { auto a = Napi::BigInt64Array::New(env, count); *data = a.Data(); return a; }
    case at::kChar: { auto a = Napi::Int8Array::New(env, count); *data = a.Data(); return a; }
    case at::kShort: { auto a = Napi::Int16Array::New(env, count); *data = a.Data(); return a; }
    case at::kBool:
    case at::kByte: { auto a = Napi::Uint8Array::New(env, count); *data = a.Data(); return a; }
    case at::kBFloat16:
    case at::kHalf: { auto a = Napi::Uint16Array::New(env, count); *data = a.Data(); return a; }
    default:
      throw Napi::TypeError::New(env, std::string("cannot return a tensor of dtype ") + c10::toString(type));
  }
}

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return "unknown";
  }
}

}  // namespace

at::Tensor tensor_from_js(const Napi::Value& value, const std::string& what,
                          std::optional<at::ScalarType> expected) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray())
    throw Napi::TypeError::New(env, what + ": expected { data: TypedArray, shape: number[] }");
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Value data = obj.Get("data");
  Napi::Value shape = obj.Get("shape");
  if (!data.IsTypedArray()) throw Napi::TypeError::New(env, what + ".data must be a TypedArray");
  if (!shape.IsArray()) throw Napi::TypeError::New(env, what + ".shape must be an array of integers");
  std::string tag;
  Napi::Value dt = obj.Get("dtype");
  if (dt.IsString()) tag = dt.As<Napi::String>().Utf8Value();
  else if (!dt.IsUndefined() && !dt.IsNull()) throw Napi::TypeError::New(env, what + ".dtype must be a string");
  auto array = data.As<Napi::TypedArray>();
  at::ScalarType type = dtype_of(array.TypedArrayType(), tag, what, env);
  if (!tag.empty() && tag != dtype_name(type))
    throw Napi::TypeError::New(env, what + ": dtype '" + tag + "' does not match its TypedArray (" +
                                        dtype_name(type) + ")");
  if (expected && *expected != type)
    throw Napi::TypeError::New(env, what + ": expected dtype " + dtype_name(*expected) + ", got " +
                                        dtype_name(type));
  auto dims = shape.As<Napi::Array>();
  if (dims.Length() > 8) throw Napi::RangeError::New(env, what + ".shape has more than 8 dimensions");
  std::vector<int64_t> sizes;
  uint64_t numel = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value d = dims.Get(i);
    double v = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1.0;
    if (!(v >= 0) || v != static_cast<double>(static_cast<int64_t>(v)) || v > 9007199254740991.0)
      throw Napi::RangeError::New(env, what + ".shape[" + std::to_string(i) + "] must be a non-negative integer");
    sizes.push_back(static_cast<int64_t>(v));
    if (sizes.back() != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(sizes.back()))
      throw Napi::RangeError::New(env, what + ".shape overflows");
    numel *= static_cast<uint64_t>(sizes.back());
  }
  if (numel != array.ElementLength())
    throw Napi::RangeError::New(env, what + ": shape [" + std::to_string(numel) + " elements] does not match data length " +
                                         std::to_string(array.ElementLength()));
  at::Tensor t = at::empty(sizes, at::TensorOptions().dtype(type));
  if (numel) {
    const auto* src = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    std::memcpy(t.data_ptr(), src, numel * t.element_size());
  }
  return t;
}

at::Tensor optional_tensor_from_js(const Napi::Value& value, const std::string& what,
                                   std::optional<at::ScalarType> expected) {
  if (value.IsUndefined() || value.IsNull()) return at::Tensor();
  return tensor_from_js(value, what, expected);
}

Napi::Object tensor_to_js(Napi::Env env, const at::Tensor& tensor) {
  at::Tensor t = tensor.to(at::kCPU).contiguous();
  void* dst = nullptr;
  Napi::Value data = make_array(env, t.scalar_type(), static_cast<size_t>(t.numel()), &dst);
  if (t.numel()) std::memcpy(dst, t.data_ptr(), t.numel() * t.element_size());
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, t.size(i)));
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", data);
  out.Set("shape", shape);
  out.Set("dtype", dtype_name(t.scalar_type()));
  return out;
}

}  // namespace l0sparse::binding
