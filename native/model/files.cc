#include "model/files.h"

#include <c10/util/Exception.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace l0sparse::model {

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string read_text_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.good(), path, ": cannot open (", std::strerror(errno), ")");
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  TORCH_CHECK(size >= 0, path, ": cannot determine its size");
  TORCH_CHECK(static_cast<size_t>(size) <= max_bytes, path, ": ", size, " bytes, more than the ", max_bytes,
              " expected for this kind of file");
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), size);
  TORCH_CHECK(in.gcount() == size, path, ": read failed");
  return text;
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      TORCH_CHECK(out.good(), tmp, ": cannot create (", std::strerror(errno), ")");
      fill(out);
      out.flush();
      TORCH_CHECK(out.good(), tmp, ": write failed (disk full?)");
    }
    // Data must be on disk before the rename makes it visible under the final name.
    int fd = ::open(tmp.c_str(), O_RDONLY);
    TORCH_CHECK(fd >= 0, tmp, ": cannot reopen to sync (", std::strerror(errno), ")");
    int rc = ::fsync(fd);
    ::close(fd);
    TORCH_CHECK(rc == 0, tmp, ": fsync failed (", std::strerror(errno), ")");
    TORCH_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename ", tmp, " to ", path, " (",
                std::strerror(errno), ")");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void make_directories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TORCH_CHECK(!ec, dir, ": cannot create directory (", ec.message(), ")");
  TORCH_CHECK(is_directory(dir), dir, ": exists but is not a directory");
}

}  // namespace l0sparse::model
