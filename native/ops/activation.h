#pragma once
// Sparse activations of docs/METHOD.md §1, applied to the pooled max only (every f is monotone).
//   extra_logs = 0: f(x) = log(1 + relu(x))                     (SPLADE, "relu")
//   extra_logs = k: f(x) = log1p applied k more times            ("l0" approximation, k = 1 in the paper)
#include <ATen/ATen.h>

namespace l0sparse::ops {

constexpr int kMaxExtraLogs = 3;

void check_extra_logs(int extra_logs);

// Composed-op activation (autograd-friendly): reference for the fused kernels.
at::Tensor activation_reference(const at::Tensor& x, int extra_logs);

// Scalar forms used by kernels: f(x) and f'(x) for x > 0 (both 0 for x <= 0).
template <typename T>
inline T activation_value(T x, int extra_logs) {
  if (!(x > T(0))) return T(0);
  T y = std::log1p(x);
  for (int i = 0; i < extra_logs; ++i) y = std::log1p(y);
  return y;
}

template <typename T>
inline T activation_derivative(T x, int extra_logs) {
  if (!(x > T(0))) return T(0);
  // d/dx log1p(u) = u' / (1 + u), chained through every log.
  T u = x;
  T d = T(1) / (T(1) + u);
  u = std::log1p(u);
  for (int i = 0; i < extra_logs; ++i) {
    d = d / (T(1) + u);
    u = std::log1p(u);
  }
  return d;
}

}  // namespace l0sparse::ops
