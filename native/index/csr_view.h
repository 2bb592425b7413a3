#pragma once
// A read-only view of a batch of sparse rows in CSR form (the layout lib/sparse/csr.ts uses):
// row r holds indices[indptr[r] .. indptr[r+1]) with their values, columns strictly increasing.
#include <cstdint>
#include <string>

namespace l0sparse::index {

struct CsrView {
  const int32_t* indptr = nullptr;   // rows + 1 entries, indptr[0] == 0
  const int32_t* indices = nullptr;  // nnz column ids
  const float* values = nullptr;     // nnz weights
  int64_t rows = 0;
  int64_t num_cols = 0;

  int64_t nnz() const { return rows == 0 ? 0 : indptr[rows]; }
};

// How values are checked besides the structure.
enum class ValueRule {
  kFinite,          // any finite value
  kNonNegative,     // finite and >= 0 (zeros are allowed and ignored by the index)
  kPositive,        // finite and > 0 (OpenSearch's pruning rejects anything else)
};

// Throws std::invalid_argument naming `what`, the row and the column of the first violation:
// indptr must start at 0, never decrease and end at nnz; columns in [0, num_cols), strictly increasing.
void validate_csr(const CsrView& csr, int64_t nnz_available, ValueRule rule, const std::string& what);

}  // namespace l0sparse::index
