#pragma once
// safetensors (https://huggingface.co/docs/safetensors) reader and writer, strict:
//   [u64 little-endian header length N][N bytes of JSON header][data buffer]
// The header maps tensor name -> {dtype, shape, data_offsets: [begin, end)} relative to the data buffer,
// plus an optional "__metadata__" object of strings. Every structural problem (header longer than the
// file, offsets out of range / overlapping / leaving holes, unknown dtype, shape x dtype size != bytes,
// bad JSON) is a c10::Error naming the file and the tensor. Nothing is allocated from header numbers
// before they are checked against the real file size.
#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace l0sparse::model {

// Tensors by name (sorted), each owning its memory, in the dtype stored in the file.
using TensorMap = std::map<std::string, at::Tensor>;

struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
};

SafetensorsFile read_safetensors(const std::string& path);

// All tensors of a model directory: model.safetensors, or the shards named by
// model.safetensors.index.json (every listed tensor must be in its shard, no shard may hold unlisted or
// duplicate tensors).
TensorMap read_checkpoint_dir(const std::string& dir);

// Writes tensors (contiguous copies are made as needed) in the given order; atomic (temp file + rename).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// safetensors dtype name <-> ATen dtype; unknown names throw (naming `what`).
at::ScalarType safetensors_dtype(const std::string& name, const std::string& what);
const char* safetensors_dtype_name(at::ScalarType type);

}  // namespace l0sparse::model
