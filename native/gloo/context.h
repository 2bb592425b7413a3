#pragma once
// See native/gloo/README.md. ProcessGroupGloo.hpp holds contexts by shared_ptr and calls setTimeout inline;
// our code never calls it (only libtorch's compiled ProcessGroupGloo does).
#include <chrono>

namespace gloo {
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo
