#pragma once
// Which library runs the float32 GEMMs of inference (the encoder's linear layers and the fused head's
// vocabulary tiles): MKL (at::linear / at::mm, PyTorch's default for fp32 on the CPU) or oneDNN
// (mkldnn::_linear_pointwise, the op torch.compile's CPU backend emits). Both ship in the pinned LibTorch.
// MKL takes a slow path on AMD processors: on an AMD EPYC (Zen 5, AVX-512, 2 threads) [4096x768]x[768x3072]
// ran at ~85 GFLOP/s through MKL and ~115 through oneDNN; on Intel CPUs MKL is usually the faster one.
//
// The choice is process-wide: L0SPARSE_GEMM=auto|mkl|onednn at first use, or set_gemm_backend(). `auto`
// decides by CPU vendor: oneDNN on AMD, MKL elsewhere. (Not by timing at start-up: on a loaded machine two
// processes could then choose differently, and sharded or resumed encodings would stop being bit-identical
// to one uninterrupted process. scripts/bench/p3-gemm-peak.py measures both.) "mkl" means ATen's own
// float32 GEMM, which is MKL in the x86 LibTorch builds.
// Only float32 CPU tensors without autograd take the oneDNN path: training, bfloat16 (which PyTorch already
// runs through oneDNN), CUDA and other dtypes always use ATen's own op, so gradients are unaffected.
#include <ATen/ATen.h>

#include <string>

namespace l0sparse::ops {

enum class GemmBackend { Auto, Mkl, OneDnn };

// "auto" | "mkl" | "onednn" (case-sensitive); anything else is an error naming the accepted values.
GemmBackend parse_gemm_backend(const std::string& name);
const char* gemm_backend_name(GemmBackend backend);

// Sets the backend for every later GEMM. OneDnn throws when this LibTorch has no mkldnn::_linear_pointwise
// (a build without oneDNN).
void set_gemm_backend(GemmBackend backend);
// The backend in use, never Auto (resolves L0SPARSE_GEMM on first call; a bad value there is an error).
GemmBackend gemm_backend();
// What was asked for, what runs, and why.
struct GemmChoice {
  GemmBackend requested = GemmBackend::Auto;
  GemmBackend chosen = GemmBackend::Mkl;
  std::string reason;
};
GemmChoice gemm_choice();

// Whether the CPU computes bfloat16 products natively (x86: AVX512_BF16 or AMX_BF16 with the OS saving
// AVX-512 state; Arm: the BF16 extension). Without it bfloat16 GEMMs are emulated and slower than float32.
bool cpu_has_native_bf16();
// The CPU vendor string from cpuid ("AuthenticAMD", "GenuineIntel", ...; "" where there is none).
std::string cpu_vendor();

// Whether this LibTorch exposes the oneDNN linear op (and oneDNN is usable on this CPU).
bool onednn_linear_available();
// x [..., in] · w[out, in]^T + b through the chosen backend (see the header comment for which tensors qualify).
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);
// x [..., in] · w[out, in]^T (+ b) forced through oneDNN (float32 / bfloat16 CPU); for tests and the probe.
at::Tensor onednn_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace l0sparse::ops
