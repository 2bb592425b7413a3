#pragma once
// See native/gloo/README.md: held only through pointers by ProcessGroupGloo.hpp.
namespace gloo::transport {
class Device;
class UnboundBuffer;
}  // namespace gloo::transport
