#pragma once
// Small helpers shared by the CUDA kernels of native/ops: warp sums, dtype and register-count dispatch.
#include <c10/core/ScalarType.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <c10/util/Half.h>

#include <cstdint>
#include <type_traits>

namespace l0sparse::ops::cuda {

constexpr unsigned kFullWarp = 0xffffffffu;
constexpr int kWarpSize = 32;

__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullWarp, x, offset);
  return x;
}

// Kernels that walk a row of `dim` features keep kValuesPerLane accumulators per lane in registers (a
// compile-time count, so the array is never spilled to local memory); a row wider than 32 * that count is
// walked in several passes. Calls f with the smallest count that covers `dim` in one pass (up to 24 = 768).
template <typename F>
void with_values_per_lane(int64_t dim, F&& f) {
  if (dim <= 4 * kWarpSize) {
    f(std::integral_constant<int, 4>{});
  } else if (dim <= 8 * kWarpSize) {
    f(std::integral_constant<int, 8>{});
  } else if (dim <= 16 * kWarpSize) {
    f(std::integral_constant<int, 16>{});
  } else {
    f(std::integral_constant<int, 24>{});
  }
}

// Calls f with a value of the C++ type of an input dtype (float, c10::BFloat16, c10::Half). Narrower than
// AT_DISPATCH_FLOATING_TYPES_AND2: no double kernels that the op would never run.
template <typename F>
void with_input_type(c10::ScalarType dtype, F&& f) {
  switch (dtype) {
    case c10::ScalarType::Float: f(float{}); break;
    case c10::ScalarType::BFloat16: f(c10::BFloat16{}); break;
    case c10::ScalarType::Half: f(c10::Half{}); break;
    default: TORCH_CHECK(false, "sparse_head (CUDA): unsupported dtype ", dtype);
  }
}

inline unsigned blocks_for(int64_t work, int per_block) {
  return static_cast<unsigned>((work + per_block - 1) / per_block);
}

}  // namespace l0sparse::ops::cuda
