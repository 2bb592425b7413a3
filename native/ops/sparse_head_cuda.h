#pragma once
// Internals of the CUDA sparse head shared by its .cu files and the GPU check (native/tests/cuda_check.cc).
// The public entry points are sparse_head_forward_cuda / sparse_head_backward_cuda (sparse_head_kernels.h).
#include "ops/sparse_head_kernels.h"

#include <ATen/ATen.h>

namespace l0sparse::ops {

// Vocabulary columns per GEMM tile: the fp32 logits tile [B*L, cols] stays under a fixed budget
// (kCudaTileBudgetBytes), so memory is O(B*L*cols + B*V), never O(B*L*V).
constexpr int64_t kCudaTileBudgetBytes = int64_t(128) << 20;
int64_t sparse_head_cuda_tile_cols(int64_t rows, int64_t vocab);

// Forward with an explicit tile width (tests use small widths to cross many tile borders).
SparseHeadForward sparse_head_forward_cuda_tiled(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& bias, const at::Tensor& mask,
                                                 int64_t tile_cols);

// Shapes, dtypes (float32 / bfloat16 / float16) and device of a CUDA call; throws c10::Error.
void check_sparse_head_cuda_inputs(const at::Tensor& hidden, const at::Tensor& weight);
// The above plus what every forward needs: bias [V] and mask [B,L] on the same device, B within the grid.
void check_sparse_head_cuda_forward_inputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                                           const at::Tensor& mask);

// ---- the single-kernel fused forward (sparse_head_cuda_fused.cu) ----------------------------------------
// Which forward sparse_head_forward_cuda runs: L0SPARSE_CUDA_SPARSE_HEAD = auto (default: fused for
// bfloat16/float16 on sm_80+, tiled otherwise), fused (any dtype, sm_80+) or tiled.
enum class CudaSparseHeadKernel { kFused, kTiled };
CudaSparseHeadKernel sparse_head_cuda_kernel_for(const at::Tensor& hidden);
bool sparse_head_cuda_fused_supported(const at::Tensor& hidden);  // a CUDA tensor on a compute capability 8.0+ GPU

// One kernel: projection tiles + bias + masked max/argmax over positions on chip, then f(max) when
// `activated` is given ([B,V] float32, ops/activation.h with extra_logs). Same contract as the tiled forward.
SparseHeadForward sparse_head_forward_cuda_fused(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& bias, const at::Tensor& mask, int extra_logs,
                                                 at::Tensor* activated);

// Forward plus f(pooled) (float32) with the kernel sparse_head_cuda_kernel_for picks; the autograd Function's
// CUDA path (the fused kernel applies the activation in the same launch).
struct SparseHeadActivated {
  SparseHeadForward forward;
  at::Tensor activated;
};
SparseHeadActivated sparse_head_forward_cuda_activated(const at::Tensor& hidden, const at::Tensor& weight,
                                                       const at::Tensor& bias, const at::Tensor& mask,
                                                       int extra_logs);

}  // namespace l0sparse::ops
