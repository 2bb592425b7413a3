#include "common/file_io.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <streambuf>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace l0sparse::common {
namespace {

std::runtime_error sys_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

std::atomic<uint64_t> temp_counter{0};

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path_.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  temp_path_ = dir + "." + name + "." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++) + ".tmp";
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw sys_error("cannot create", temp_path_);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("cannot write", temp_path_);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (::fsync(fd_) != 0) throw sys_error("cannot fsync", temp_path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw sys_error("cannot close", temp_path_);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) throw sys_error("cannot rename the temp file to", path_);
  committed_ = true;
  // Make the rename itself durable.
  const int dir = ::open(parent_dir(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

namespace {

// An ostream's buffer that hands full buffers to an AtomicFileWriter.
class WriterBuffer : public std::streambuf {
 public:
  explicit WriterBuffer(AtomicFileWriter& out) : out_(out), buffer_(1 << 16) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  void flush_all() {
    out_.write(pbase(), static_cast<size_t>(pptr() - pbase()));
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }

 protected:
  int_type overflow(int_type c) override {
    flush_all();
    if (!traits_type::eq_int_type(c, traits_type::eof())) sputc(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n >= static_cast<std::streamsize>(buffer_.size())) {  // large writes skip the buffer
      flush_all();
      out_.write(s, static_cast<size_t>(n));
      return n;
    }
    return std::streambuf::xsputn(s, n);
  }

 private:
  AtomicFileWriter& out_;
  std::vector<char> buffer_;
};

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  AtomicFileWriter out(path);
  WriterBuffer buffer(out);
  std::ostream stream(&buffer);
  // A write error inside the buffer surfaces as an exception from the stream: let it through.
  stream.exceptions(std::ios::badbit);
  fill(stream);
  buffer.flush_all();
  out.commit();
}

FileReader::FileReader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw sys_error("cannot open", path);
  struct stat st {};
  const bool stat_ok = ::fstat(fd_, &st) == 0;
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    const std::runtime_error err = stat_ok ? std::runtime_error(path + " is not a regular file") : sys_error("cannot stat", path);
    ::close(fd_);  // the destructor does not run when the constructor throws
    fd_ = -1;
    throw err;
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

void FileReader::read(void* data, size_t size, const std::string& what) {
  if (size > remaining())
    throw std::runtime_error(path_ + ": truncated file: " + what + " needs " + std::to_string(size) + " bytes at offset " +
                             std::to_string(offset_) + " but only " + std::to_string(remaining()) + " remain");
  auto* p = static_cast<char*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::pread(fd_, p, left, static_cast<off_t>(offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("cannot read", path_);
    }
    if (n == 0) throw std::runtime_error(path_ + ": file shrank while reading " + what);
    p += n;
    left -= static_cast<size_t>(n);
    offset_ += static_cast<uint64_t>(n);
  }
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw sys_error("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::runtime_error err = S_ISREG(st.st_mode) ? sys_error("cannot stat", path) : std::runtime_error(path + " is not a regular file");
    ::close(fd);
    throw err;
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      const std::runtime_error err = sys_error("cannot map", path);
      ::close(fd);
      throw err;
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace l0sparse::common
