#pragma once
// File helpers for model directories: whole-file reads with clear errors. Writes go through
// common/file_io.h (write_file_atomic).
#include <functional>
#include <ostream>
#include <string>

namespace l0sparse::model {

bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);

// Reads a whole (small) file; errors name the path. Refuses files over `max_bytes`.
std::string read_text_file(const std::string& path, size_t max_bytes = size_t(64) << 20);

// Creates `dir` (and missing parents); errors name the path.
void make_directories(const std::string& dir);

}  // namespace l0sparse::model
