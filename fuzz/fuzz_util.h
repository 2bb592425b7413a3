#pragma once
// Shared by the libFuzzer targets: the readers under test take a path, so each input is written to one
// scratch file per process (in /dev/shm when it exists: no disk traffic) and read back from there.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace l0sparse::fuzz {

inline const std::string& scratch_path(const char* name) {
  static const std::string path = [name] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/l0sparse-fuzz-" + name + "-" + std::to_string(getpid());
  }();
  return path;
}

inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) abort();
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) abort();
    done += static_cast<size_t>(n);
  }
  close(fd);
}

}  // namespace l0sparse::fuzz
