#include "model/device.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cctype>
#include <limits>

namespace l0sparse::model {
namespace {

const char* const kForms = "expected 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)";

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

c10::Device parse_device_name(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda") return c10::Device(c10::kCUDA);
  const std::string prefix = "cuda:";
  if (name.compare(0, prefix.size(), prefix) == 0) {
    const std::string index = name.substr(prefix.size());
    TORCH_CHECK(all_digits(index), "device '", name, "': the CUDA device index must be a non-negative integer (",
                kForms, ")");
    // c10::DeviceIndex is 8 bits: a larger number would wrap around instead of failing.
    const int value = std::stoi(index);
    TORCH_CHECK(value <= std::numeric_limits<c10::DeviceIndex>::max(), "device '", name, "': CUDA device index ", value,
                " is out of range");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(value));
  }
  TORCH_CHECK(false, "unknown device '", name, "': ", kForms);
}

int cuda_device_count() {
  try {
    return at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
  } catch (const std::exception&) {
    return 0;  // a broken driver counts as no GPU; resolve_device explains when asked for one
  }
}

c10::Device resolve_device(const std::string& name) {
  c10::Device device = parse_device_name(name);
  if (device.is_cpu()) return device;
#ifndef L0SPARSE_WITH_CUDA
  TORCH_CHECK(false, "device '", name, "': this l0sparse build is the CPU variant (LibTorch ", TORCH_VERSION,
              "); CUDA needs the CUDA variant (LibTorch 2.14.1 + CUDA 13: `L0SPARSE_VARIANT=cuda npm install`, "
              "see README, CUDA) on a machine with an NVIDIA GPU. Use device 'cpu' here.");
#else
  TORCH_CHECK(at::hasCUDA(), "device '", name, "': this addon has CUDA kernels but no CUDA GPU is usable in this "
              "process (no NVIDIA GPU or driver, or CUDA_VISIBLE_DEVICES hides them); run on a machine with a GPU "
              "or use device 'cpu'");
  const int count = cuda_device_count();
  if (!device.has_index()) return c10::Device(c10::kCUDA, at::detail::getCUDAHooks().current_device());
  TORCH_CHECK(device.index() < count, "device '", name, "': this process sees ", count, " CUDA device",
              count == 1 ? "" : "s", " (cuda:0", count > 1 ? " .. cuda:" + std::to_string(count - 1) : std::string(),
              ")");
#endif
  return device;
}

std::string device_name(const c10::Device& device) {
  return device.is_cpu() ? "cpu" : device.str();
}

}  // namespace l0sparse::model
