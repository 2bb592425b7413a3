#include "model/safetensors.h"

#include "common/file_io.h"
#include "model/files.h"
#include "model/json.h"

#include <c10/util/Exception.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace l0sparse::model {
namespace {

// The format caps the header at 100 MB; larger values are lies, not checkpoints.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

static_assert(sizeof(void*) == 8, "64-bit hosts only");

bool host_is_little_endian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// RAII file descriptor with positional reads that report short reads as errors.
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    TORCH_CHECK(fd_ >= 0, path, ": cannot open (", std::strerror(errno), ")");
    struct stat st;
    TORCH_CHECK(::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode), path, ": not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const { return size_; }

  void read_at(uint64_t offset, void* dst, uint64_t count) const {
    auto* out = static_cast<char*>(dst);
    while (count > 0) {
      ssize_t n = ::pread(fd_, out, std::min<uint64_t>(count, 1ull << 30), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      TORCH_CHECK(n > 0, path_, ": read failed at byte ", offset, n < 0 ? std::string(" (") + std::strerror(errno) + ")"
                                                                          : std::string(" (unexpected end of file)"));
      out += n;
      offset += static_cast<uint64_t>(n);
      count -= static_cast<uint64_t>(n);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& path, const std::string& name, const json::Value& v) {
  std::string where = path + ": tensor '" + name + "'";
  TORCH_CHECK(v.is_object(), where, ": header entry must be an object");
  for (const auto& key : v.keys())
    TORCH_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", where, ": unexpected header field \"",
                key, "\"");
  Entry e;
  e.name = name;
  const json::Value& dtype = json::require(v, "dtype", where);
  TORCH_CHECK(dtype.is_string(), where, ": dtype must be a string");
  e.dtype = safetensors_dtype(dtype.as_string(), where);

  const json::Value& shape = json::require(v, "shape", where);
  TORCH_CHECK(shape.is_array() && shape.size() <= 16, where, ": shape must be an array of at most 16 integers");
  uint64_t numel = 1;
  for (const auto& d : shape.items()) {
    TORCH_CHECK(d.is_integer() && d.as_int() >= 0, where, ": shape entries must be non-negative integers");
    uint64_t n = static_cast<uint64_t>(d.as_int());
    TORCH_CHECK(n == 0 || numel <= (uint64_t(1) << 62) / n, where, ": shape overflows");
    numel *= n;
    e.shape.push_back(d.as_int());
  }

  const json::Value& offsets = json::require(v, "data_offsets", where);
  TORCH_CHECK(offsets.is_array() && offsets.size() == 2 && offsets.items()[0].is_integer() &&
                  offsets.items()[1].is_integer() && offsets.items()[0].as_int() >= 0 &&
                  offsets.items()[1].as_int() >= 0,
              where, ": data_offsets must be [begin, end] with non-negative integers");
  e.begin = static_cast<uint64_t>(offsets.items()[0].as_int());
  e.end = static_cast<uint64_t>(offsets.items()[1].as_int());
  TORCH_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end, "] has begin > end");
  uint64_t bytes = numel * static_cast<uint64_t>(c10::elementSize(e.dtype));
  TORCH_CHECK(bytes == e.end - e.begin, where, ": shape ", shape.size() ? json::dump(shape, 0) : "[]", " of ",
              dtype.as_string(), " needs ", bytes, " bytes but data_offsets span ", e.end - e.begin);
  return e;
}

}  // namespace

at::ScalarType safetensors_dtype(const std::string& name, const std::string& what) {
  if (name == "F32") return at::kFloat;
  if (name == "F16") return at::kHalf;
  if (name == "BF16") return at::kBFloat16;
  if (name == "F64") return at::kDouble;
  if (name == "I64") return at::kLong;
  if (name == "I32") return at::kInt;
  if (name == "I16") return at::kShort;
  if (name == "I8") return at::kChar;
  if (name == "U8") return at::kByte;
  if (name == "BOOL") return at::kBool;
  TORCH_CHECK(false, what, ": unknown or unsupported dtype \"", name,
              "\" (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

const char* safetensors_dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: TORCH_CHECK(false, "safetensors: cannot store dtype ", type);
  }
}

SafetensorsFile read_safetensors(const std::string& path) {
  TORCH_CHECK(host_is_little_endian(), "safetensors: big-endian hosts are not supported");
  InputFile file(path);
  TORCH_CHECK(file.size() >= 8, path, ": ", file.size(), " bytes, too short for a safetensors file");
  uint64_t header_len = 0;
  file.read_at(0, &header_len, 8);
  TORCH_CHECK(header_len <= file.size() - 8, path, ": header length ", header_len, " goes beyond the file (",
              file.size(), " bytes)");
  TORCH_CHECK(header_len <= kMaxHeaderBytes, path, ": header length ", header_len, " exceeds the 100 MB limit");
  std::string header(static_cast<size_t>(header_len), '\0');
  file.read_at(8, header.data(), header_len);
  json::Value root = json::parse(header, path + " (header)");
  TORCH_CHECK(root.is_object(), path, ": header must be a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file.size() - data_start;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (size_t i = 0; i < root.size(); ++i) {
    const std::string& name = root.keys()[i];
    const json::Value& v = root.items()[i];
    if (name == "__metadata__") {
      TORCH_CHECK(v.is_object(), path, ": __metadata__ must be an object of strings");
      for (size_t j = 0; j < v.size(); ++j) {
        TORCH_CHECK(v.items()[j].is_string(), path, ": __metadata__ value \"", v.keys()[j], "\" must be a string");
        out.metadata[v.keys()[j]] = v.items()[j].as_string();
      }
      continue;
    }
    Entry e = parse_entry(path, name, v);
    TORCH_CHECK(e.end <= data_size, path, ": tensor '", name, "' data_offsets [", e.begin, ", ", e.end,
                "] go beyond the data buffer (", data_size, " bytes)");
    entries.push_back(std::move(e));
  }

  // The buffer must be covered exactly: sorted by begin, each tensor starts where the previous ended.
  std::vector<const Entry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : order) {
    TORCH_CHECK(e->begin >= cursor, path, ": tensor '", e->name, "' [", e->begin, ", ", e->end,
                ") overlaps tensor '", previous ? previous->name : "", "' [", previous ? previous->begin : 0, ", ",
                cursor, ")");
    TORCH_CHECK(e->begin == cursor, path, ": bytes [", cursor, ", ", e->begin, ") before tensor '", e->name,
                "' belong to no tensor");
    cursor = e->end;
    previous = e;
  }
  TORCH_CHECK(cursor == data_size, path, ": bytes [", cursor, ", ", data_size, ") of the data buffer belong to no tensor");

  for (const auto& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
    if (e.end > e.begin) file.read_at(data_start + e.begin, t.data_ptr(), e.end - e.begin);
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

TensorMap read_checkpoint_dir(const std::string& dir) {
  std::string single = join_path(dir, "model.safetensors");
  std::string index_path = join_path(dir, "model.safetensors.index.json");
  if (file_exists(single)) return read_safetensors(single).tensors;
  TORCH_CHECK(file_exists(index_path), dir, ": no model.safetensors or model.safetensors.index.json",
              file_exists(join_path(dir, "pytorch_model.bin"))
                  ? " (pytorch_model.bin is a pickle; convert it to safetensors with transformers' save_pretrained)"
                  : "");
  json::Value index = json::parse(read_text_file(index_path), index_path);
  const json::Value& weight_map = json::require(index, "weight_map", index_path);
  TORCH_CHECK(weight_map.is_object() && weight_map.size() > 0, index_path, ": weight_map must be a non-empty object");

  std::map<std::string, std::set<std::string>> names_by_shard;
  for (size_t i = 0; i < weight_map.size(); ++i) {
    const json::Value& shard = weight_map.items()[i];
    TORCH_CHECK(shard.is_string(), index_path, ": weight_map[\"", weight_map.keys()[i], "\"] must be a file name");
    const std::string& file = shard.as_string();
    // Shards live in the model directory itself; anything else would let an index read arbitrary files.
    TORCH_CHECK(!file.empty() && file.find('/') == std::string::npos && file.find('\\') == std::string::npos &&
                    file != "." && file != "..",
                index_path, ": shard name \"", file, "\" must be a plain file name in the same directory");
    names_by_shard[file].insert(weight_map.keys()[i]);
  }

  TensorMap all;
  for (const auto& [file, names] : names_by_shard) {
    std::string shard_path = join_path(dir, file);
    TORCH_CHECK(file_exists(shard_path), index_path, ": shard ", file, " is missing");
    SafetensorsFile shard = read_safetensors(shard_path);
    for (auto& [name, tensor] : shard.tensors) {
      TORCH_CHECK(names.count(name), shard_path, ": holds tensor '", name, "' that ", index_path,
                  " does not assign to it");
      TORCH_CHECK(!all.count(name), dir, ": tensor '", name, "' appears in more than one shard");
      all.emplace(name, std::move(tensor));
    }
    for (const auto& name : names)
      TORCH_CHECK(all.count(name), index_path, ": tensor '", name, "' is not in its shard ", file);
  }
  return all;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  TORCH_CHECK(host_is_little_endian(), "safetensors: big-endian hosts are not supported");
  json::Value header = json::Value::object();
  if (!metadata.empty()) {
    json::Value meta = json::Value::object();
    for (const auto& [k, v] : metadata) meta.set(k, json::Value::string(v));
    header.set("__metadata__", std::move(meta));
  }
  std::vector<at::Tensor> contiguous;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    TORCH_CHECK(!name.empty() && name != "__metadata__", path, ": invalid tensor name '", name, "'");
    TORCH_CHECK(seen.insert(name).second, path, ": tensor '", name, "' given twice");
    TORCH_CHECK(tensor.defined(), path, ": tensor '", name, "' is undefined");
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    json::Value entry = json::Value::object();
    entry.set("dtype", json::Value::string(safetensors_dtype_name(t.scalar_type())));
    json::Value shape = json::Value::array();
    for (int64_t d : t.sizes()) shape.push_back(json::Value::integer(d));
    entry.set("shape", std::move(shape));
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    json::Value offsets = json::Value::array();
    offsets.push_back(json::Value::integer(static_cast<int64_t>(offset)));
    offsets.push_back(json::Value::integer(static_cast<int64_t>(offset + bytes)));
    entry.set("data_offsets", std::move(offsets));
    header.set(name, std::move(entry));
    offset += bytes;
    contiguous.push_back(std::move(t));
  }
  std::string text = json::dump(header, 0);
  text.append((8 - text.size() % 8) % 8, ' ');  // the data buffer starts 8-byte aligned
  uint64_t header_len = text.size();
  common::write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : contiguous)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
  });
}

}  // namespace l0sparse::model
