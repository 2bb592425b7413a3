#include "binding/batch_args.h"

#include "binding/args.h"

#include <cstdint>
#include <cstring>

namespace l0sparse::binding {
namespace {

int64_t required_size(const Napi::Object& obj, const char* key, const std::string& what) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) throw Napi::TypeError::New(obj.Env(), what + "." + key + " is required (an integer >= 1)");
  return integer_value(v, what + "." + key, 1, INT32_MAX);
}

at::Tensor copy_ids(const Napi::Object& obj, const char* key, const std::string& what, int64_t rows, int64_t cols) {
  Napi::Value v = obj.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(obj.Env(), what + "." + key + " must be an Int32Array");
  auto array = v.As<Napi::Int32Array>();
  if (static_cast<int64_t>(array.ElementLength()) != rows * cols)
    throw Napi::RangeError::New(obj.Env(), what + "." + key + " has " + std::to_string(array.ElementLength()) +
                                               " entries, expected batchSize * seqLen = " + std::to_string(rows * cols));
  at::Tensor t = at::empty({rows, cols}, at::kInt);
  std::memcpy(t.data_ptr(), array.Data(), array.ElementLength() * sizeof(int32_t));
  return t;
}

}  // namespace

TokenBatch token_batch_from_js(const Napi::Value& value, const std::string& what) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray() || value.IsFunction())
    throw Napi::TypeError::New(env, what + ": expected a token batch { inputIds: Int32Array, attentionMask: Int32Array, "
                                           "batchSize, seqLen }");
  Napi::Object obj = value.As<Napi::Object>();
  TokenBatch b;
  b.batch_size = required_size(obj, "batchSize", what);
  b.seq_len = required_size(obj, "seqLen", what);
  b.input_ids = copy_ids(obj, "inputIds", what, b.batch_size, b.seq_len);
  b.attention_mask = copy_ids(obj, "attentionMask", what, b.batch_size, b.seq_len);
  return b;
}

}  // namespace l0sparse::binding
