#include "ops/gemm_backend.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace l0sparse::ops {
namespace {

const c10::OperatorHandle* linear_pointwise_op() {
  static const c10::OperatorHandle* op = [] () -> const c10::OperatorHandle* {
    auto handle = c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""});
    if (!handle) return nullptr;
    static c10::OperatorHandle kept = *handle;
    return &kept;
  }();
  return op;
}

bool cpu_is_amd() { return cpu_vendor() == "AuthenticAMD"; }

// auto: by CPU vendor (see the header for why not by timing).
GemmChoice vendor_choice() {
  GemmChoice c;
  c.requested = GemmBackend::Auto;
  if (!onednn_linear_available()) {
    c.chosen = GemmBackend::Mkl;
    c.reason = "auto: oneDNN linear not available in this LibTorch";
  } else if (cpu_is_amd()) {
    c.chosen = GemmBackend::OneDnn;
    c.reason = "auto: AMD CPU (MKL takes a slow path there)";
  } else {
    c.chosen = GemmBackend::Mkl;
    c.reason = "auto: not an AMD CPU";
  }
  return c;
}

std::mutex choice_mutex;
GemmChoice current_choice;                  // guarded by choice_mutex
std::atomic<int> active{-1};                // the chosen backend as int, -1 until resolved

void apply(GemmBackend requested) {
  GemmChoice c;
  if (requested == GemmBackend::Auto) {
    c = vendor_choice();
  } else {
    TORCH_CHECK(requested != GemmBackend::OneDnn || onednn_linear_available(),
                "GEMM backend 'onednn' is not available: this LibTorch has no mkldnn::_linear_pointwise");
    c.requested = requested;
    c.chosen = requested;
    c.reason = "forced";
  }
  current_choice = c;
  active.store(static_cast<int>(c.chosen));
}

}  // namespace

std::string cpu_vendor() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return "";
  char vendor[13] = {0};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  return vendor;
#else
  return "";
#endif
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return false;  // OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_avx512 = (xcr0_lo & 0xE6u) == 0xE6u;  // XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM state enabled
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool amx_bf16 = edx & (1u << 22);
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  const bool avx512_bf16 = eax & (1u << 5);
  return os_avx512 && (avx512_bf16 || amx_bf16);
#elif defined(__aarch64__) && defined(__linux__) && defined(HWCAP2_BF16)
  return (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
#else
  return false;
#endif
}

GemmBackend parse_gemm_backend(const std::string& name) {
  if (name == "auto") return GemmBackend::Auto;
  if (name == "mkl") return GemmBackend::Mkl;
  if (name == "onednn") return GemmBackend::OneDnn;
  TORCH_CHECK(false, "GEMM backend must be 'auto', 'mkl' or 'onednn', got '", name, "'");
}

const char* gemm_backend_name(GemmBackend backend) {
  switch (backend) {
    case GemmBackend::Auto: return "auto";
    case GemmBackend::Mkl: return "mkl";
    case GemmBackend::OneDnn: return "onednn";
  }
  return "?";
}

void set_gemm_backend(GemmBackend backend) {
  std::lock_guard<std::mutex> lock(choice_mutex);
  apply(backend);
}

GemmBackend gemm_backend() {
  int value = active.load();
  if (value >= 0) return static_cast<GemmBackend>(value);
  std::lock_guard<std::mutex> lock(choice_mutex);
  if (active.load() < 0) {
    const char* env = std::getenv("L0SPARSE_GEMM");
    apply(env && *env ? parse_gemm_backend(env) : GemmBackend::Auto);
  }
  return static_cast<GemmBackend>(active.load());
}

GemmChoice gemm_choice() {
  gemm_backend();
  std::lock_guard<std::mutex> lock(choice_mutex);
  return current_choice;
}

bool onednn_linear_available() {
  static const bool available = linear_pointwise_op() != nullptr && at::hasMKLDNN();
  return available;
}

at::Tensor onednn_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(onednn_linear_available(), "oneDNN linear is not available in this LibTorch");
  TORCH_CHECK(x.device().is_cpu() && weight.device().is_cpu(), "oneDNN linear runs on the CPU only");
  // mkldnn::_linear_pointwise(Tensor X, Tensor W, Tensor? B, str attr, Scalar?[] scalars, str? algorithm)
  torch::jit::Stack stack;
  stack.emplace_back(x.contiguous());
  stack.emplace_back(weight.contiguous());
  stack.emplace_back(bias.defined() ? c10::IValue(bias.contiguous()) : c10::IValue());
  stack.emplace_back(std::string("none"));
  stack.emplace_back(c10::List<std::optional<at::Scalar>>());
  stack.emplace_back(c10::IValue());
  linear_pointwise_op()->callBoxed(&stack);
  return stack.back().toTensor();
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const bool qualifies = !c10::GradMode::is_enabled() && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
                         weight.scalar_type() == at::kFloat && (!bias.defined() || bias.scalar_type() == at::kFloat) &&
                         !at::autocast::is_autocast_enabled(at::kCPU) && x.numel() > 0;
  if (qualifies && gemm_backend() == GemmBackend::OneDnn) return onednn_linear(x, weight, bias);
  return at::linear(x, weight, bias);
}

}  // namespace l0sparse::ops
