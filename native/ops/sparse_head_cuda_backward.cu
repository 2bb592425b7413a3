// CUDA backward of the fused sparse head (semantics: sparse_head_kernels.h). Cost ∝ nnz·D, never B·L·V·D.
//  - grad_weight / grad_bias: one warp per vocabulary id gathers the hidden rows its B argmax entries point
//    at (rows of W are independent: no atomics, summed over docs in order, deterministic).
//  - grad_hidden: the (doc, vocab) entries with a gradient are sorted by their target row doc*L + argmax
//    (at::sort, stable); each warp then walks a fixed-size segment of that order, accumulating g·W[v] in
//    registers while the row stays the same and adding the sum to an fp32 buffer when it changes. Work is
//    balanced however skewed the argmax distribution is, and a row sees at most one atomic add per segment
//    that touches it (the order of those few adds is the only non-determinism).
#include "ops/cuda_helpers.cuh"
#include "ops/sparse_head_cuda.h"

#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace l0sparse::ops {
namespace {

using cuda::kFullWarp;
using cuda::kWarpSize;

constexpr int kWarpsPerBlock = 8;
constexpr int kEntriesPerSegment = 64;  // sorted (doc, vocab) entries per warp in the grad_hidden kernel

// grad_t / argmax_t are [V, B] (transposed, so a warp's loads of one vocab id's entries are contiguous).
template <typename scalar_t, int kValuesPerLane>
__global__ void gather_weight_bias_grads(const float* __restrict__ grad_t, const int32_t* __restrict__ argmax_t,
                                         const scalar_t* __restrict__ hidden, scalar_t* __restrict__ grad_weight,
                                         float* __restrict__ grad_bias, int64_t docs, int64_t tokens, int64_t dim,
                                         int64_t vocab) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t v = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  if (v >= vocab) return;  // whole warps leave together
  const float* g = grad_t + v * docs;
  const int32_t* arg = argmax_t + v * docs;

  if (grad_bias != nullptr) {
    float sum = 0.f;
    for (int64_t b = lane; b < docs; b += kWarpSize) sum += arg[b] >= 0 ? g[b] : 0.f;
    sum = cuda::warp_sum(sum);
    if (lane == 0) grad_bias[v] = sum;
  }
  if (grad_weight == nullptr) return;

  for (int64_t d0 = 0; d0 < dim; d0 += int64_t(kWarpSize) * kValuesPerLane) {
    float acc[kValuesPerLane];
#pragma unroll
    for (int k = 0; k < kValuesPerLane; ++k) acc[k] = 0.f;
    for (int64_t b0 = 0; b0 < docs; b0 += kWarpSize) {
      const int64_t b = b0 + lane;
      const int32_t my_token = b < docs ? arg[b] : -1;
      const float my_grad = b < docs ? g[b] : 0.f;
      unsigned pending = __ballot_sync(kFullWarp, my_token >= 0 && my_grad != 0.f);
      while (pending != 0) {  // docs in increasing order: a fixed summation order
        const int j = __ffs(pending) - 1;
        pending &= pending - 1;
        const int64_t token = __shfl_sync(kFullWarp, my_token, j);
        const float gj = __shfl_sync(kFullWarp, my_grad, j);
        const scalar_t* row = hidden + ((b0 + j) * tokens + token) * dim;
#pragma unroll
        for (int k = 0; k < kValuesPerLane; ++k) {
          const int64_t d = d0 + lane + int64_t(kWarpSize) * k;
          if (d < dim) acc[k] += gj * static_cast<float>(row[d]);
        }
      }
    }
#pragma unroll
    for (int k = 0; k < kValuesPerLane; ++k) {
      const int64_t d = d0 + lane + int64_t(kWarpSize) * k;
      if (d < dim) grad_weight[v * dim + d] = static_cast<scalar_t>(acc[k]);
    }
  }
}

template <int kValuesPerLane>
__device__ __forceinline__ void add_row(float* __restrict__ grad_hidden32, int64_t row, int64_t d0, int64_t dim,
                                        int lane, float (&acc)[kValuesPerLane]) {
#pragma unroll
  for (int k = 0; k < kValuesPerLane; ++k) {
    const int64_t d = d0 + lane + int64_t(kWarpSize) * k;
    if (d < dim) atomicAdd(grad_hidden32 + row * dim + d, acc[k]);
    acc[k] = 0.f;
  }
}

// sorted_rows[e] = doc*L + argmax of entry order[e] (a flat doc*V + v index), or no_row for entries without
// a gradient (they sort last). grad_hidden32 [B*L, D] starts at zero.
template <typename scalar_t, int kValuesPerLane>
__global__ void scatter_hidden_grads(const int32_t* __restrict__ sorted_rows, const int64_t* __restrict__ order,
                                     const float* __restrict__ grad, const scalar_t* __restrict__ weight,
                                     float* __restrict__ grad_hidden32, int64_t entries, int32_t no_row,
                                     int64_t dim, int64_t vocab) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t segment = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  const int64_t begin = segment * kEntriesPerSegment;
  if (begin >= entries) return;
  const int64_t end = begin + kEntriesPerSegment < entries ? begin + kEntriesPerSegment : entries;

  for (int64_t d0 = 0; d0 < dim; d0 += int64_t(kWarpSize) * kValuesPerLane) {
    float acc[kValuesPerLane];
#pragma unroll
    for (int k = 0; k < kValuesPerLane; ++k) acc[k] = 0.f;
    int64_t current_row = -1;
    bool finished = false;
    for (int64_t e0 = begin; e0 < end && !finished; e0 += kWarpSize) {
      const int64_t e = e0 + lane;
      int32_t my_row = no_row;
      int64_t my_vocab = 0;
      float my_grad = 0.f;
      if (e < end) {
        my_row = sorted_rows[e];
        if (my_row != no_row) {
          const int64_t flat = order[e];
          my_vocab = flat % vocab;
          my_grad = grad[flat];
        }
      }
      const int count = static_cast<int>(end - e0 < kWarpSize ? end - e0 : kWarpSize);
      for (int j = 0; j < count; ++j) {
        const int32_t row = __shfl_sync(kFullWarp, my_row, j);
        if (row == no_row) {  // the rest of the order has no gradient
          finished = true;
          break;
        }
        if (row != current_row) {
          if (current_row >= 0) add_row(grad_hidden32, current_row, d0, dim, lane, acc);
          current_row = row;
        }
        const int64_t v = __shfl_sync(kFullWarp, my_vocab, j);
        const float gj = __shfl_sync(kFullWarp, my_grad, j);
        const scalar_t* w_row = weight + v * dim;
#pragma unroll
        for (int k = 0; k < kValuesPerLane; ++k) {
          const int64_t d = d0 + lane + int64_t(kWarpSize) * k;
          if (d < dim) acc[k] += gj * static_cast<float>(w_row[d]);
        }
      }
    }
    if (current_row >= 0) add_row(grad_hidden32, current_row, d0, dim, lane, acc);
  }
}

}  // namespace

SparseHeadGrads sparse_head_backward_cuda(const at::Tensor& grad_pooled, const at::Tensor& argmax,
                                          const at::Tensor& hidden, const at::Tensor& weight, bool need_hidden,
                                          bool need_weight, bool need_bias) {
  check_sparse_head_cuda_inputs(hidden, weight);
  const int64_t docs = hidden.size(0), tokens = hidden.size(1), dim = hidden.size(2), vocab = weight.size(0);
  TORCH_CHECK(grad_pooled.dim() == 2 && grad_pooled.size(0) == docs && grad_pooled.size(1) == vocab,
              "sparse_head (CUDA) backward: grad_pooled must be [", docs, ",", vocab, "], got ",
              grad_pooled.sizes());
  TORCH_CHECK(argmax.sizes() == grad_pooled.sizes(), "sparse_head (CUDA) backward: argmax is ", argmax.sizes(),
              " but grad_pooled is ", grad_pooled.sizes());
  TORCH_CHECK(docs * tokens < INT32_MAX, "sparse_head (CUDA) backward: B*L must fit in int32");
  TORCH_CHECK(grad_pooled.device() == hidden.device() && argmax.device() == hidden.device(),
              "sparse_head (CUDA) backward: grad_pooled and argmax must be on ", hidden.device());
  const c10::cuda::CUDAGuard device_guard(hidden.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const at::Tensor h = hidden.contiguous();
  const at::Tensor w = weight.contiguous();
  const at::Tensor grad = grad_pooled.to(at::kFloat).contiguous();
  const at::Tensor arg = argmax.to(at::kInt).contiguous();
  SparseHeadGrads out;

  cuda::with_input_type(h.scalar_type(), [&](auto type_tag) {
    using scalar_t = decltype(type_tag);
    cuda::with_values_per_lane(dim, [&](auto values_per_lane) {
      constexpr int kValuesPerLane = decltype(values_per_lane)::value;
      const int threads = kWarpsPerBlock * kWarpSize;

      if (need_weight || need_bias) {
        const at::Tensor grad_t = grad.t().contiguous();
        const at::Tensor arg_t = arg.t().contiguous();
        at::Tensor grad_weight = need_weight ? at::empty({vocab, dim}, w.options()) : at::Tensor();
        at::Tensor grad_bias32 = need_bias ? at::empty({vocab}, grad.options()) : at::Tensor();
        gather_weight_bias_grads<scalar_t, kValuesPerLane>
            <<<cuda::blocks_for(vocab, kWarpsPerBlock), threads, 0, stream>>>(
                grad_t.data_ptr<float>(), arg_t.data_ptr<int32_t>(), h.data_ptr<scalar_t>(),
                need_weight ? grad_weight.data_ptr<scalar_t>() : nullptr,
                need_bias ? grad_bias32.data_ptr<float>() : nullptr, docs, tokens, dim, vocab);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        out.grad_weight = grad_weight;
        if (need_bias) out.grad_bias = grad_bias32.to(h.scalar_type());
      }

      if (need_hidden) {
        const int32_t no_row = static_cast<int32_t>(docs * tokens);
        const at::Tensor doc_first_row =
            at::arange(docs, arg.options()).mul_(static_cast<int32_t>(tokens)).unsqueeze(1);
        const at::Tensor has_grad = arg.ge(0).logical_and_(grad.ne(0));
        const at::Tensor rows =
            at::where(has_grad, arg + doc_first_row, at::Scalar(no_row)).to(at::kInt).flatten();
        const auto [sorted_rows, order] = at::sort(rows, /*stable=*/true, /*dim=*/0, /*descending=*/false);
        at::Tensor grad_hidden32 = at::zeros({docs * tokens, dim}, grad.options());
        const int64_t entries = rows.numel();
        const int64_t segments = (entries + kEntriesPerSegment - 1) / kEntriesPerSegment;
        scatter_hidden_grads<scalar_t, kValuesPerLane>
            <<<cuda::blocks_for(segments, kWarpsPerBlock), threads, 0, stream>>>(
                sorted_rows.data_ptr<int32_t>(), order.data_ptr<int64_t>(), grad.data_ptr<float>(),
                w.data_ptr<scalar_t>(), grad_hidden32.data_ptr<float>(), entries, no_row, dim, vocab);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        out.grad_hidden = grad_hidden32.view({docs, tokens, dim}).to(h.scalar_type());
      }
    });
  });
  return out;
}

}  // namespace l0sparse::ops
