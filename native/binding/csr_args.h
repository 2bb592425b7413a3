#pragma once
// CSR batches cross N-API as { indptr: Int32Array, indices: Int32Array, values: Float32Array, numCols }
// (lib/sparse/csr.ts). They are checked here and copied into native memory, because a JS buffer may be
// changed or collected while a worker thread uses it.
#include "index/csr_view.h"

#include <napi.h>

#include <string>
#include <vector>

namespace l0sparse::binding {

struct CsrCopy {
  std::vector<int32_t> indptr, indices;
  std::vector<float> values;
  int64_t num_cols = 0;

  index::CsrView view() const {
    return {indptr.data(), indices.data(), values.data(), static_cast<int64_t>(indptr.size()) - 1, num_cols};
  }
};

// Throws a JS TypeError/RangeError naming `what` when the object is malformed or violates the CSR rules.
CsrCopy csr_from_js(const Napi::Value& value, const std::string& what, index::ValueRule rule);

Napi::Object csr_to_js(Napi::Env env, const std::vector<int32_t>& indptr, const std::vector<int32_t>& indices,
                       const std::vector<float>& values, int64_t num_cols);

// An array of strings (e.g. document ids); `what` names it in errors.
std::vector<std::string> strings_from_js(const Napi::Value& value, const std::string& what);

}  // namespace l0sparse::binding
