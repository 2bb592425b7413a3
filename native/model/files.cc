#include "model/files.h"

#include <c10/util/Exception.h>

#include <sys/stat.h>

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

void make_directories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TORCH_CHECK(!ec, dir, ": cannot create directory (", ec.message(), ")");
  TORCH_CHECK(is_directory(dir), dir, ": exists but is not a directory");
}

}  // namespace l0sparse::model
