// CUDA forward of the fused sparse head (semantics: sparse_head_kernels.h).
// Per vocabulary tile: one cuBLAS GEMM (through at::mm, fp32 output even for bf16/fp16 inputs, so the max
// sees fp32-accumulated logits) into a bounded fp32 buffer [B*L, cols], then one kernel that reduces the
// tile to the masked max and its argmax over tokens. The buffer is reused for every tile: [B,L,V] never
// exists, and the memory beyond inputs and outputs is kCudaTileBudgetBytes.
// Only c10/cuda/CUDAStream.h-level headers (no ATen/cuda/CUDAContext.h): the file syntax-checks against the
// CPU wheel's headers (scripts/check-cuda-syntax.js).
#include "ops/cuda_helpers.cuh"
#include "ops/sparse_head_cuda.h"

#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>

namespace l0sparse::ops {
namespace {

constexpr int kReduceCols = 32;      // vocabulary columns per block: one per lane, coalesced row reads
constexpr int kReduceRowGroups = 8;  // warps per block, each scanning every 8th token

// pooled[doc, first_col + c] / argmax[...] for the columns c of one tile. Each warp keeps a running max over
// its tokens with a strict `>` (first token wins inside a warp), then the warps merge in shared memory with
// the smallest-token tie rule. The running max starts at 0 with argmax -1, which is exactly "max(0, ...)
// and -1 where the pooled value is 0".
__global__ void masked_max_over_tokens(const float* __restrict__ logits, const float* __restrict__ bias,
                                       const bool* __restrict__ keep, float* __restrict__ pooled,
                                       int32_t* __restrict__ argmax, int64_t tokens, int64_t vocab,
                                       int64_t first_col, int64_t tile_cols) {
  __shared__ float group_best[kReduceRowGroups][kReduceCols];
  __shared__ int32_t group_token[kReduceRowGroups][kReduceCols];
  const int64_t col = int64_t(blockIdx.x) * kReduceCols + threadIdx.x;
  const int64_t doc = blockIdx.y;
  float best = 0.f;
  int32_t best_token = -1;
  if (col < tile_cols) {
    const float col_bias = bias[first_col + col];
    const float* column = logits + doc * tokens * tile_cols + col;
    const bool* doc_keep = keep + doc * tokens;
    for (int64_t i = threadIdx.y; i < tokens; i += kReduceRowGroups) {
      if (!doc_keep[i]) continue;
      const float z = column[i * tile_cols] + col_bias;
      if (z > best) {
        best = z;
        best_token = static_cast<int32_t>(i);
      }
    }
  }
  group_best[threadIdx.y][threadIdx.x] = best;
  group_token[threadIdx.y][threadIdx.x] = best_token;
  __syncthreads();
  if (threadIdx.y != 0 || col >= tile_cols) return;
  for (int g = 1; g < kReduceRowGroups; ++g) {
    const float z = group_best[g][threadIdx.x];
    const int32_t token = group_token[g][threadIdx.x];
    // A group with a token has z > 0 >= the initial best, so `best_token < 0` needs no case of its own.
    if (token >= 0 && (z > best || (z == best && token < best_token))) {
      best = z;
      best_token = token;
    }
  }
  pooled[doc * vocab + first_col + col] = best;
  argmax[doc * vocab + first_col + col] = best_token;
}

}  // namespace

void check_sparse_head_cuda_inputs(const at::Tensor& hidden, const at::Tensor& weight) {
  TORCH_CHECK(hidden.is_cuda() && weight.is_cuda(), "sparse_head (CUDA): inputs must be CUDA tensors, got ",
              hidden.device(), " and ", weight.device());
  const auto dtype = hidden.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf,
              "sparse_head (CUDA): hidden must be float32, bfloat16 or float16, got ", dtype);
  TORCH_CHECK(weight.scalar_type() == dtype, "sparse_head (CUDA): weight is ", weight.scalar_type(),
              " but hidden is ", dtype);
  TORCH_CHECK(hidden.dim() == 3 && weight.dim() == 2 && weight.size(1) == hidden.size(2),
              "sparse_head (CUDA): expected hidden [B,L,D] and weight [V,D], got ", hidden.sizes(), " and ",
              weight.sizes());
}

int64_t sparse_head_cuda_tile_cols(int64_t rows, int64_t vocab) {
  constexpr int64_t kAlign = 256;  // GEMM-friendly widths; also the smallest tile
  const int64_t fit = kCudaTileBudgetBytes / (std::max<int64_t>(rows, 1) * int64_t(sizeof(float)));
  return std::min(vocab, std::max(kAlign, fit / kAlign * kAlign));
}

void check_sparse_head_cuda_forward_inputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                                           const at::Tensor& mask) {
  check_sparse_head_cuda_inputs(hidden, weight);
  TORCH_CHECK(bias.device() == hidden.device() && mask.device() == hidden.device(),
              "sparse_head (CUDA): bias and mask must be on ", hidden.device(), ", got ", bias.device(), " and ",
              mask.device());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0) && mask.dim() == 2 &&
                  mask.size(0) == hidden.size(0) && mask.size(1) == hidden.size(1),
              "sparse_head (CUDA): expected bias [V] and mask [B,L], got ", bias.sizes(), " and ", mask.sizes());
  TORCH_CHECK(hidden.size(0) <= 65535, "sparse_head (CUDA): at most 65535 documents per call, got ",
              hidden.size(0));  // grid.y of both forwards
}

SparseHeadForward sparse_head_forward_cuda_tiled(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& bias, const at::Tensor& mask,
                                                 int64_t tile_cols) {
  check_sparse_head_cuda_forward_inputs(hidden, weight, bias, mask);
  TORCH_CHECK(tile_cols > 0, "sparse_head (CUDA): tile width must be positive, got ", tile_cols);
  const c10::cuda::CUDAGuard device_guard(hidden.device());
  const int64_t docs = hidden.size(0), tokens = hidden.size(1), dim = hidden.size(2), vocab = weight.size(0);
  const int64_t rows = docs * tokens;
  tile_cols = std::min(tile_cols, vocab);

  const at::Tensor h2d = hidden.contiguous().view({rows, dim});
  const at::Tensor w = weight.contiguous();
  const at::Tensor bias32 = bias.to(at::kFloat).contiguous();
  const at::Tensor keep = mask.ne(0).contiguous();
  const auto f32 = hidden.options().dtype(at::kFloat);
  at::Tensor pooled = at::empty({docs, vocab}, f32);
  at::Tensor argmax = at::empty({docs, vocab}, hidden.options().dtype(at::kInt));
  at::Tensor buffer = at::empty({rows * tile_cols}, f32);
  const bool half_input = hidden.scalar_type() != at::kFloat;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();

  for (int64_t first = 0; first < vocab; first += tile_cols) {
    const int64_t cols = std::min(tile_cols, vocab - first);
    at::Tensor logits = buffer.narrow(0, 0, rows * cols).view({rows, cols});
    const at::Tensor w_tile_t = w.narrow(0, first, cols).t();  // [D, cols] view: cuBLAS transposes
    if (half_input) {
      at::mm_out(logits, h2d, w_tile_t, at::kFloat);
    } else {
      at::mm_out(logits, h2d, w_tile_t);
    }
    const dim3 grid(cuda::blocks_for(cols, kReduceCols), static_cast<unsigned>(docs));
    const dim3 block(kReduceCols, kReduceRowGroups);
    masked_max_over_tokens<<<grid, block, 0, stream>>>(logits.data_ptr<float>(), bias32.data_ptr<float>(),
                                                      keep.data_ptr<bool>(), pooled.data_ptr<float>(),
                                                      argmax.data_ptr<int32_t>(), tokens, vocab, first, cols);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return {pooled, argmax};
}

// sparse_head_forward_cuda (the dispatch between this tiled forward and the fused kernel) lives in
// sparse_head_cuda_fused.cu.

}  // namespace l0sparse::ops
