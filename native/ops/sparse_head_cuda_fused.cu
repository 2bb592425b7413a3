// Single-kernel CUDA forward of the sparse head (semantics: sparse_head_kernels.h), the idea of Sparton's fused
// head written from docs/METHOD.md §1: one block owns a tile of kCols vocabulary columns of one document and
// walks that document's positions kRows at a time. Per position tile it computes the [kRows, kCols] logits
// tile (hidden rows x weight^T) in shared memory, adds the bias and folds the tile into a running masked max
// and argmax held in registers; neither [B,L,V] nor a [B*L, tile] buffer ever reaches global memory. The
// activation is applied to the final max only, in the same kernel.
//   bfloat16 / float16 inputs: tensor cores through WMMA (16x16x16 fragments, fp32 accumulation; sm_80+).
//   float32 inputs: fp32 FFMA on CUDA cores (exact fp32 products, no TF32 rounding, like eager matmul).
// Ties go to the smallest position, as the CPU reference: each thread scans its rows in increasing order with
// a strict `>`, and the final merge compares positions explicitly.
// Only c10/cuda/CUDAStream.h-level headers: the file syntax-checks against the CPU wheel's headers
// (scripts/check-cuda-syntax.js).
#include "ops/activation.h"
#include "ops/cuda_helpers.cuh"
#include "ops/sparse_head_cuda.h"

#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <mma.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace l0sparse::ops {
namespace {

constexpr int kRows = 64;       // positions per tile
constexpr int kCols = 128;      // vocabulary columns per block
constexpr int kThreads = 256;   // 8 warps: 2 (rows) x 4 (columns) warp tiles of 32 x 32 for WMMA
constexpr int kPadA = 8, kPadB = 8, kPadC = 4;  // keep WMMA leading dimensions multiples of 16 bytes
// Hidden features per shared-memory stage: 64 for 16-bit inputs (half the barriers per product), 32 for fp32
// (both stages then fit in the 33 KiB the fp32 C tile needs anyway, under the 48 KiB of static shared memory).
template <typename Raw>
constexpr int kDepth = sizeof(Raw) == 2 ? 64 : 32;
template <typename Raw>
constexpr int kLdA = kDepth<Raw> + kPadA;  // A stage: [kRows][kLdA], row-major (position, feature)
constexpr int kLdB = kCols + kPadB;        // B stage: [kDepth][kLdB], row-major (feature, column) = weight^T
constexpr int kLdC = kCols + kPadC;   // C tile: [kRows][kLdC] fp32 logits

// Shared memory: the A/B stages and the fp32 C tile are never live at once, so they share one buffer.
template <typename Raw>
constexpr int stage_bytes() {
  return int(sizeof(Raw)) * (kRows * kLdA<Raw> + kDepth<Raw> * kLdB);
}
constexpr int kTileBytes = int(sizeof(float)) * kRows * kLdC;
template <typename Raw>
constexpr int shared_bytes() {
  return stage_bytes<Raw>() > kTileBytes ? stage_bytes<Raw>() : kTileBytes;
}

static_assert(kDepth<__half> % 16 == 0 && kDepth<float> % 4 == 0, "stages hold whole WMMA k-steps and 16-byte runs");
static_assert(shared_bytes<__half>() + kRows <= 48 * 1024 && shared_bytes<float>() + kRows <= 48 * 1024,
              "static shared memory is limited to 48 KiB per block");

// The CUDA types behind c10's (same bit layout) and the scalar helpers the loaders need.
template <typename T> struct RawOf { using type = float; };
template <> struct RawOf<c10::Half> { using type = __half; };
template <> struct RawOf<c10::BFloat16> { using type = __nv_bfloat16; };

__device__ __forceinline__ void set_zero(float& x) { x = 0.f; }
__device__ __forceinline__ void set_zero(__half& x) { x = __float2half(0.f); }
__device__ __forceinline__ void set_zero(__nv_bfloat16& x) { x = __float2bfloat16(0.f); }

// f(x) of ops/activation.h for x > 0 (the caller passes the clamped max, so x >= 0 and f(0) = 0).
__device__ __forceinline__ float activation_on_max(float x, int extra_logs) {
  float y = log1pf(x);
  for (int i = 0; i < extra_logs; ++i) y = log1pf(y);
  return y;
}

// Copies `count` consecutive elements starting at src (already offset), zero-filling past `valid`; 16-byte
// loads when the row is aligned for them. kVec elements = 16 bytes.
template <typename Raw, int kVec>
__device__ __forceinline__ void load_run(Raw (&out)[kVec], const Raw* src, int valid, bool vector_ok) {
  if (vector_ok && valid >= kVec) {
    *reinterpret_cast<uint4*>(out) = __ldg(reinterpret_cast<const uint4*>(src));
    return;
  }
#pragma unroll
  for (int e = 0; e < kVec; ++e) {
    if (e < valid) out[e] = src[e]; else set_zero(out[e]);
  }
}

// Stages hidden[doc, row0 : row0+kRows, k0 : k0+kDepth] into a_stage (zeros beyond the live rows / features)
// and weight[col0 : col0+kCols, k0 : k0+kDepth] transposed into b_stage. Every thread may load several runs.
template <typename Raw>
__device__ __forceinline__ void load_stage(Raw* a_stage, Raw* b_stage, const Raw* hidden_doc, const Raw* weight,
                                           int64_t live_rows, int64_t row0, int64_t col0, int64_t vocab, int64_t dim,
                                           int64_t k0, bool vector_ok) {
  constexpr int kVec = 16 / int(sizeof(Raw));
  constexpr int kRunsPerRow = kDepth<Raw> / kVec;
  const int valid_k = static_cast<int>(dim - k0 < kDepth<Raw> ? dim - k0 : kDepth<Raw>);
  for (int idx = threadIdx.x; idx < kRows * kRunsPerRow; idx += kThreads) {
    const int r = idx / kRunsPerRow, run = idx % kRunsPerRow;
    const int valid = row0 + r < live_rows ? valid_k - run * kVec : 0;
    alignas(16) Raw v[kVec];  // moved as one uint4
    load_run<Raw, kVec>(v, hidden_doc + (row0 + r) * dim + k0 + run * kVec, valid, vector_ok);
    *reinterpret_cast<uint4*>(a_stage + r * kLdA<Raw> + run * kVec) = *reinterpret_cast<const uint4*>(v);
  }
  for (int idx = threadIdx.x; idx < kCols * kRunsPerRow; idx += kThreads) {
    const int c = idx / kRunsPerRow, run = idx % kRunsPerRow;
    const int valid = col0 + c < vocab ? valid_k - run * kVec : 0;
    alignas(16) Raw v[kVec];  // moved as one uint4
    load_run<Raw, kVec>(v, weight + (col0 + c) * dim + k0 + run * kVec, valid, vector_ok);
#pragma unroll
    for (int e = 0; e < kVec; ++e) b_stage[(run * kVec + e) * kLdB + c] = v[e];
  }
}

// Logits tile [kRows, kCols] (without bias) into c_tile, fp32. Tensor cores for 16-bit inputs.
template <typename Raw>
struct TileProduct;

template <>
struct TileProduct<float> {  // FFMA: each thread owns 4 rows x 8 columns (columns 16 apart: conflict-free)
  float acc[4][8];
  __device__ void clear() {
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
  }
  __device__ void accumulate(const float* a_stage, const float* b_stage) {
    const int r0 = (threadIdx.x / 16) * 4, c0 = threadIdx.x % 16;
#pragma unroll 8
    for (int k = 0; k < kDepth<float>; ++k) {
      float a[4], b[8];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = a_stage[(r0 + i) * kLdA<float> + k];
#pragma unroll
      for (int j = 0; j < 8; ++j) b[j] = b_stage[k * kLdB + c0 + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
  }
  __device__ void store(float* c_tile) const {
    const int r0 = (threadIdx.x / 16) * 4, c0 = threadIdx.x % 16;
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) c_tile[(r0 + i) * kLdC + c0 + 16 * j] = acc[i][j];
  }
};

template <typename Raw>
struct TileProduct {  // WMMA: warp (wr, wc) owns rows 32*wr.., columns 32*wc.. as 2 x 2 fragments
  using Accumulator = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float>;
  Accumulator acc[2][2];
  __device__ void clear() {
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) nvcuda::wmma::fill_fragment(acc[i][j], 0.f);
  }
  __device__ void accumulate(const Raw* a_stage, const Raw* b_stage) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    using namespace nvcuda;
    const int warp = threadIdx.x / cuda::kWarpSize, wr = warp / 4, wc = warp % 4;
#pragma unroll
    for (int k = 0; k < kDepth<Raw>; k += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, Raw, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, Raw, wmma::row_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], a_stage + (32 * wr + 16 * i) * kLdA<Raw> + k, kLdA<Raw>);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], b_stage + k * kLdB + 32 * wc + 16 * j, kLdB);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
#else
    __trap();  // the host never launches this below sm_80 (sparse_head_cuda_fused_supported)
#endif
  }
  __device__ void store(float* c_tile) const {
    const int warp = threadIdx.x / cuda::kWarpSize, wr = warp / 4, wc = warp % 4;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j)
        nvcuda::wmma::store_matrix_sync(c_tile + (32 * wr + 16 * i) * kLdC + 32 * wc + 16 * j, acc[i][j], kLdC,
                                        nvcuda::wmma::mem_row_major);
  }
};

// grid (vocabulary tiles, documents), kThreads threads. Threads t and t + kCols reduce column t % kCols over
// the first and second half of each position tile.
template <typename Raw>
__global__ void __launch_bounds__(kThreads)
fused_sparse_head_forward(const Raw* __restrict__ hidden, const Raw* __restrict__ weight,
                          const float* __restrict__ bias, const bool* __restrict__ keep, float* __restrict__ pooled,
                          int32_t* __restrict__ argmax, float* __restrict__ activated, int64_t tokens,
                          int64_t dim, int64_t vocab, int extra_logs, bool vector_ok) {
  __shared__ __align__(128) unsigned char smem[shared_bytes<Raw>()];
  __shared__ bool tile_keep[kRows];
  __shared__ int last_kept;
  Raw* a_stage = reinterpret_cast<Raw*>(smem);
  Raw* b_stage = a_stage + kRows * kLdA<Raw>;
  float* c_tile = reinterpret_cast<float*>(smem);

  const int64_t doc = blockIdx.y, col0 = int64_t(blockIdx.x) * kCols;
  const bool* doc_keep = keep + doc * tokens;
  // Positions after the last real token never win: stop there (padding costs nothing).
  if (threadIdx.x == 0) last_kept = -1;
  __syncthreads();
  for (int64_t i = threadIdx.x; i < tokens; i += kThreads)
    if (doc_keep[i]) atomicMax(&last_kept, static_cast<int>(i));
  __syncthreads();
  const int64_t live_rows = int64_t(last_kept) + 1;

  const Raw* hidden_doc = hidden + doc * tokens * dim;
  const int col = threadIdx.x % kCols, row_half = threadIdx.x / kCols;
  const float col_bias = col0 + col < vocab ? bias[col0 + col] : 0.f;
  float best = 0.f;  // max(0, ...) with argmax -1, exactly the kernel contract
  int32_t best_row = -1;

  TileProduct<Raw> product;
  for (int64_t row0 = 0; row0 < live_rows; row0 += kRows) {
    product.clear();
    if (threadIdx.x < kRows) tile_keep[threadIdx.x] = row0 + threadIdx.x < live_rows && doc_keep[row0 + threadIdx.x];
    for (int64_t k0 = 0; k0 < dim; k0 += kDepth<Raw>) {
      load_stage<Raw>(a_stage, b_stage, hidden_doc, weight, live_rows, row0, col0, vocab, dim, k0, vector_ok);
      __syncthreads();
      product.accumulate(a_stage, b_stage);
      __syncthreads();  // the next stage (or the C tile) overwrites the buffer
    }
    product.store(c_tile);
    __syncthreads();
    const int first = row_half * (kRows / 2);
    for (int r = first; r < first + kRows / 2; ++r) {
      if (!tile_keep[r]) continue;
      const float z = c_tile[r * kLdC + col] + col_bias;
      if (z > best) {
        best = z;
        best_row = static_cast<int32_t>(row0 + r);
      }
    }
    __syncthreads();  // c_tile is read before the next stage is loaded over it
  }

  // Merge the two halves: larger value, then smaller position.
  float* merge_best = c_tile;
  int32_t* merge_row = reinterpret_cast<int32_t*>(c_tile + kCols);
  if (row_half == 1) {
    merge_best[col] = best;
    merge_row[col] = best_row;
  }
  __syncthreads();
  if (row_half == 1 || col0 + col >= vocab) return;
  const float other = merge_best[col];
  const int32_t other_row = merge_row[col];
  // A half with a position has a value > 0 >= the initial best, so best_row < 0 needs no case of its own.
  if (other_row >= 0 && (other > best || (other == best && other_row < best_row))) {
    best = other;
    best_row = other_row;
  }
  const int64_t out = doc * vocab + col0 + col;
  pooled[out] = best;
  argmax[out] = best_row;
  if (activated != nullptr) activated[out] = activation_on_max(best, extra_logs);
}

bool env_forces_tiled() {
  const char* choice = std::getenv("L0SPARSE_CUDA_SPARSE_HEAD");
  return choice != nullptr && std::strcmp(choice, "tiled") == 0;
}

bool env_forces_fused() {
  const char* choice = std::getenv("L0SPARSE_CUDA_SPARSE_HEAD");
  return choice != nullptr && std::strcmp(choice, "fused") == 0;
}

}  // namespace

bool sparse_head_cuda_fused_supported(const at::Tensor& hidden) {
  if (!hidden.is_cuda()) return false;
  int major = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, hidden.get_device()));
  return major >= 8;
}

CudaSparseHeadKernel sparse_head_cuda_kernel_for(const at::Tensor& hidden) {
  const char* choice = std::getenv("L0SPARSE_CUDA_SPARSE_HEAD");
  TORCH_CHECK(choice == nullptr || choice[0] == '\0' || env_forces_tiled() || env_forces_fused() ||
                  std::strcmp(choice, "auto") == 0,
              "sparse_head (CUDA): L0SPARSE_CUDA_SPARSE_HEAD must be auto, fused or tiled, got '", choice, "'");
  if (env_forces_tiled() || !sparse_head_cuda_fused_supported(hidden)) return CudaSparseHeadKernel::kTiled;
  if (env_forces_fused()) return CudaSparseHeadKernel::kFused;
  // auto: tensor cores for 16-bit inputs; fp32 keeps cuBLAS (its fp32 GEMM outruns a plain FFMA tile).
  return hidden.scalar_type() == at::kFloat ? CudaSparseHeadKernel::kTiled : CudaSparseHeadKernel::kFused;
}

SparseHeadForward sparse_head_forward_cuda_fused(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& bias, const at::Tensor& mask, int extra_logs,
                                                 at::Tensor* activated) {
  check_sparse_head_cuda_forward_inputs(hidden, weight, bias, mask);
  check_extra_logs(extra_logs);
  TORCH_CHECK(sparse_head_cuda_fused_supported(hidden),
              "sparse_head (CUDA): the fused kernel needs compute capability 8.0 or newer (set "
              "L0SPARSE_CUDA_SPARSE_HEAD=tiled or leave it unset on older GPUs)");
  TORCH_CHECK(hidden.size(1) < (int64_t(1) << 31), "sparse_head (CUDA): too many positions: ", hidden.size(1));
  const c10::cuda::CUDAGuard device_guard(hidden.device());
  const int64_t docs = hidden.size(0), tokens = hidden.size(1), dim = hidden.size(2), vocab = weight.size(0);

  const at::Tensor h = hidden.contiguous(), w = weight.contiguous();
  const at::Tensor bias32 = bias.to(at::kFloat).contiguous();
  const at::Tensor keep = mask.ne(0).contiguous();
  const auto f32 = hidden.options().dtype(at::kFloat);
  at::Tensor pooled = at::empty({docs, vocab}, f32);
  at::Tensor argmax = at::empty({docs, vocab}, hidden.options().dtype(at::kInt));
  if (activated != nullptr) *activated = at::empty({docs, vocab}, f32);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const dim3 grid(cuda::blocks_for(vocab, kCols), static_cast<unsigned>(docs));
  cuda::with_input_type(hidden.scalar_type(), [&](auto tag) {
    using Raw = typename RawOf<decltype(tag)>::type;
    // 16-byte loads need every row start aligned: row length a multiple of 16 bytes and aligned bases.
    constexpr int64_t kVec = 16 / int64_t(sizeof(Raw));
    const bool vector_ok = dim % kVec == 0 && reinterpret_cast<uintptr_t>(h.data_ptr()) % 16 == 0 &&
                           reinterpret_cast<uintptr_t>(w.data_ptr()) % 16 == 0;
    fused_sparse_head_forward<Raw><<<grid, kThreads, 0, stream>>>(
        reinterpret_cast<const Raw*>(h.data_ptr()), reinterpret_cast<const Raw*>(w.data_ptr()),
        bias32.data_ptr<float>(), keep.data_ptr<bool>(), pooled.data_ptr<float>(), argmax.data_ptr<int32_t>(),
        activated != nullptr ? activated->data_ptr<float>() : nullptr, tokens, dim, vocab, extra_logs, vector_ok);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {pooled, argmax};
}

SparseHeadForward sparse_head_forward_cuda(const at::Tensor& hidden, const at::Tensor& weight,
                                           const at::Tensor& bias, const at::Tensor& mask) {
  check_sparse_head_cuda_inputs(hidden, weight);
  if (sparse_head_cuda_kernel_for(hidden) == CudaSparseHeadKernel::kFused)
    return sparse_head_forward_cuda_fused(hidden, weight, bias, mask, 0, nullptr);
  return sparse_head_forward_cuda_tiled(hidden, weight, bias, mask,
                                        sparse_head_cuda_tile_cols(hidden.size(0) * hidden.size(1),
                                                                   weight.size(0)));
}

SparseHeadActivated sparse_head_forward_cuda_activated(const at::Tensor& hidden, const at::Tensor& weight,
                                                       const at::Tensor& bias, const at::Tensor& mask,
                                                       int extra_logs) {
  check_sparse_head_cuda_inputs(hidden, weight);
  if (sparse_head_cuda_kernel_for(hidden) == CudaSparseHeadKernel::kFused) {
    at::Tensor activated;
    SparseHeadForward fwd = sparse_head_forward_cuda_fused(hidden, weight, bias, mask, extra_logs, &activated);
    return {fwd, activated};
  }
  SparseHeadForward fwd = sparse_head_forward_cuda_tiled(
      hidden, weight, bias, mask, sparse_head_cuda_tile_cols(hidden.size(0) * hidden.size(1), weight.size(0)));
  return {fwd, activation_reference(fwd.pooled, extra_logs)};
}

}  // namespace l0sparse::ops
