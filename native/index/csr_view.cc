#include "index/csr_view.h"

#include <cmath>
#include <stdexcept>

namespace l0sparse::index {

void validate_csr(const CsrView& csr, int64_t nnz_available, ValueRule rule, const std::string& what) {
  auto fail = [&](const std::string& msg) { throw std::invalid_argument(what + ": " + msg); };
  if (csr.rows < 0) fail("negative row count");
  if (csr.num_cols < 0 || csr.num_cols > INT32_MAX) fail("numCols must be in [0, 2^31)");
  if (csr.indptr[0] != 0) fail("indptr must start with 0");
  for (int64_t r = 0; r < csr.rows; ++r) {
    const int64_t begin = csr.indptr[r], end = csr.indptr[r + 1];
    if (end < begin) fail("indptr decreases at row " + std::to_string(r));
    if (end > nnz_available)
      fail("indptr[" + std::to_string(r + 1) + "] = " + std::to_string(end) + " exceeds the " +
           std::to_string(nnz_available) + " stored entries");
    for (int64_t j = begin; j < end; ++j) {
      const int64_t col = csr.indices[j];
      if (col < 0 || col >= csr.num_cols)
        fail("row " + std::to_string(r) + " has column " + std::to_string(col) + " outside [0, " +
             std::to_string(csr.num_cols) + ")");
      if (j > begin && col <= csr.indices[j - 1])
        fail("row " + std::to_string(r) + " columns are not strictly increasing at column " + std::to_string(col));
      const float v = csr.values[j];
      const bool ok = rule == ValueRule::kFinite        ? std::isfinite(v)
                      : rule == ValueRule::kNonNegative ? (std::isfinite(v) && v >= 0.0f)
                                                        : (std::isfinite(v) && v > 0.0f);
      if (!ok) {
        const char* need = rule == ValueRule::kFinite ? "finite" : rule == ValueRule::kNonNegative ? "finite and >= 0" : "finite and > 0";
        fail("row " + std::to_string(r) + ", column " + std::to_string(col) + ": value " + std::to_string(v) +
             " must be " + need);
      }
    }
  }
  if (csr.nnz() != nnz_available)
    fail("indptr ends at " + std::to_string(csr.nnz()) + " but there are " + std::to_string(nnz_available) + " entries");
}

}  // namespace l0sparse::index
