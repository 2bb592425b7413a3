#include "ops/activation.h"

#include <c10/util/Exception.h>

namespace l0sparse::ops {

void check_extra_logs(int extra_logs) {
  TORCH_CHECK(extra_logs >= 0 && extra_logs <= kMaxExtraLogs,
              "activation: extra log count must be in [0, ", kMaxExtraLogs, "], got ", extra_logs);
}

at::Tensor activation_reference(const at::Tensor& x, int extra_logs) {
  check_extra_logs(extra_logs);
  at::Tensor y = at::log1p(at::relu(x));
  for (int i = 0; i < extra_logs; ++i) y = at::log1p(y);
  return y;
}

}  // namespace l0sparse::ops
