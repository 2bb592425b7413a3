#pragma once
// Tensors cross N-API as plain objects { data: TypedArray, shape: number[], dtype?: string }.
// Inputs are validated and copied into torch-owned memory (JS buffers may move or be freed by GC while a
// worker runs); outputs are copied into new JS-owned TypedArrays.
#include <napi.h>

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace l0sparse::binding {

// Reads a tensor argument. `what` names it in error messages. If `expected` is given the dtype must match.
at::Tensor tensor_from_js(const Napi::Value& value, const std::string& what,
                          std::optional<at::ScalarType> expected = std::nullopt);

// Same, but the value may be undefined/null (returns an undefined tensor).
at::Tensor optional_tensor_from_js(const Napi::Value& value, const std::string& what,
                                   std::optional<at::ScalarType> expected = std::nullopt);

// Copies a CPU tensor (any layout) into { data, shape, dtype }. bfloat16/float16 come back as Uint16Array.
Napi::Object tensor_to_js(Napi::Env env, const at::Tensor& tensor);

// Object property helpers with clear errors.
Napi::Object object_arg(const Napi::CallbackInfo& info, size_t index, const std::string& what);
int64_t int_option(const Napi::Object& obj, const char* key, int64_t fallback, int64_t lo, int64_t hi);
bool bool_option(const Napi::Object& obj, const char* key, bool fallback);
std::string string_option(const Napi::Object& obj, const char* key, const std::string& fallback);

// "relu" -> 0 extra logs; "l0" -> k extra logs (option `k`, default 1).
int activation_option(const Napi::Object& obj);

}  // namespace l0sparse::binding
