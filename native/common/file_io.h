#pragma once
// The project's one native file layer (the TypeScript side's is lib/io): the atomic writer every native
// file goes through (index, model weights and config, optimizer state), a reader that never reads past
// the end without saying which part of the file is missing, and a read-only mapping.
//
// Atomic writes: the content goes to a temp file beside the target, named `.<name>.<pid>.<n>.tmp` (the
// form lib/io/stale-temps.ts sweeps after a crash, the same as the TypeScript writers'), is fsynced, and
// is renamed over the target; then the folder is fsynced so the rename survives a power cut. Readers see
// the old file or the whole new one. Errors are std::runtime_error naming the file.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace l0sparse::common {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();  // removes the temp file unless commit() succeeded
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

class FileReader {
 public:
  explicit FileReader(const std::string& path);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  uint64_t size() const { return size_; }
  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }
  // Reads exactly `size` bytes; `what` names the part in the error when the file ends first.
  void read(void* data, size_t size, const std::string& what);

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0, offset_ = 0;
};

// A whole file mapped read-only (MAP_SHARED: processes that map the same index share its pages).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Writes `path` atomically from a stream (buffered into an AtomicFileWriter).
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill);

}  // namespace l0sparse::common
