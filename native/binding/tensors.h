#pragma once
// Tensors cross N-API as plain objects { data: TypedArray, shape: number[], dtype?: string }.
// Inputs are validated and copied into torch-owned memory (JS buffers may move or be freed by GC while a
// worker runs); outputs are copied into new JS-owned TypedArrays.
#include "binding/args.h"

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

}  // namespace l0sparse::binding
