#pragma once
// Tokenized document batches cross N-API as the TypeScript DocumentBatch (lib/tokenizer/padding.ts):
//   { inputIds: Int32Array, attentionMask: Int32Array, batchSize, seqLen }   (row-major [batchSize, seqLen])
// Other members (e.g. `lengths`, or the encode options that share the object) are not read here. Together
// with the CSR object of csr_args.h these are the two batch shapes of the boundary; both are checked here and
// copied into native memory, because a JS buffer may be changed or collected while a worker thread uses it.
#include <napi.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace l0sparse::binding {

struct TokenBatch {
  at::Tensor input_ids;       // [batch_size, seq_len] int32, a copy
  at::Tensor attention_mask;  // [batch_size, seq_len] int32, a copy
  int64_t batch_size = 0, seq_len = 0;
};

// Checks the shape only (an object; Int32Array inputIds and attentionMask; integer batchSize and seqLen in
// [1, 2^31); both arrays of batchSize * seqLen entries) and throws a JS TypeError/RangeError naming
// `what`.<field>. Token ids against a vocabulary and seqLen against a model are the caller's checks.
TokenBatch token_batch_from_js(const Napi::Value& value, const std::string& what);

}  // namespace l0sparse::binding
