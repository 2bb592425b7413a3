#pragma once
// Where a model's parameters (and so its forward, backward and optimizer state) live: "cpu", "cuda" or
// "cuda:N". Names are parsed strictly (no "gpu", "CUDA", "cpu:0", "cuda:-1"): a typo must not silently
// fall back to the CPU. A CUDA device is accepted only when this build has CUDA kernels and a GPU is
// visible; otherwise the error says which of the two is missing and how to get it.
#include <c10/core/Device.h>

#include <string>

namespace l0sparse::model {

// "cpu" -> CPU, "cuda" -> cuda:0... only as far as the syntax goes: no availability check. Throws c10::Error
// naming the accepted forms.
c10::Device parse_device_name(const std::string& name);

// parse_device_name plus the availability checks above; "cuda" becomes an explicit index (the current CUDA
// device, cuda:0 unless CUDA_VISIBLE_DEVICES or the caller changed it).
c10::Device resolve_device(const std::string& name);

// CUDA devices visible to this process; 0 in a CPU build or without a GPU (never throws).
int cuda_device_count();

// The name resolve_device accepts for `device`: "cpu" or "cuda:N".
std::string device_name(const c10::Device& device);

}  // namespace l0sparse::model
