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

}  // namespace l0sparse::ops
