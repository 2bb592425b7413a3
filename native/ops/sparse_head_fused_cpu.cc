// CPU kernels of the fused sparse head; interface and semantics in sparse_head_kernels.h.
//
// Forward: the real (mask != 0) token rows of all documents, R x D, are multiplied tile by tile with the
// vocabulary: one GEMM per tile [R, D] x [D, T] through LibTorch (MKL threads it; large M keeps it
// efficient), then the running max/argmax per (document, vocab id) over that tile, in parallel over
// documents. Extra memory: the [R, T] logits of one tile (~8 MiB) plus a copy of the real rows when
// padding is dropped or the dtype converted — never anything of size B*L*V. Padding rows are dropped
// before the GEMM: they could only contribute max(0, .), which the final clamp at 0 already provides.
// Measured alternative: parallel tasks = (tile, document), each with its own small GEMM inside
// at::parallel_for. On this shared 2-core machine (load average ~15) it was 5-10x slower (B=8 encode:
// 42-60 s vs 5-9 s), so the single threaded-by-MKL GEMM per tile won.
//
// Backward (argmax only, cost ~ nnz x D): grad_weight/grad_bias rows are partitioned by vocab id and
// grad_hidden by (document, slice of D), so no two threads ever write the same element.
//
// Accumulation: float32 for float32/bfloat16/float16 inputs; float64 inputs keep float64 end to end (used by
// the finite-difference tests), so `pooled` is float64 there.
#include "ops/sparse_head_kernels.h"

#include "ops/gemm_backend.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <limits>
#include <vector>

namespace l0sparse::ops {
namespace {

at::ScalarType accumulation_type(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

// dtype the per-tile GEMM runs in. bfloat16 stays bfloat16 (oneDNN, fp32 accumulation inside, logits
// rounded to bf16 on store, as PyTorch's own bf16 matmul): measured 2x the fp32 GEMM throughput per core on
// this AVX512-BF16 CPU (at::mm [256x768]x[768x256], 1 thread). L0SPARSE_BF16_GEMM=0 converts bf16 tiles to
// fp32 instead (exact logits of the bf16 values). float16 is converted to fp32.
at::ScalarType gemm_type(at::ScalarType t) {
  static const bool bf16_gemm = [] {
    const char* env = std::getenv("L0SPARSE_BF16_GEMM");
    return !(env && std::string(env) == "0");
  }();
  if (t == at::kBFloat16 && bf16_gemm) return at::kBFloat16;
  return accumulation_type(t);
}

// best[j] / arg[j] = max over rows of logits[r, j] and the position of its first occurrence.
template <typename logit_t, typename acc_t>
void running_max(const logit_t* logits, int64_t rows, int64_t width, const int32_t* positions, acc_t* best,
                 int32_t* arg) {
  std::fill(best, best + width, -std::numeric_limits<acc_t>::infinity());
  std::fill(arg, arg + width, -1);
  for (int64_t r = 0; r < rows; ++r) {
    const logit_t* z = logits + r * width;
    const int32_t p = positions[r];
    for (int64_t j = 0; j < width; ++j) {  // branch-free so the compiler vectorises it
      const acc_t zj = static_cast<acc_t>(z[j]);
      const bool greater = zj > best[j];
      best[j] = greater ? zj : best[j];
      arg[j] = greater ? p : arg[j];
    }
  }
}

// Logits buffer of one vocab tile, [R, T]: T is chosen so that it stays about this size (cache-friendly,
// and O(R) memory instead of O(R x V)).
constexpr int64_t kTileLogitsBytes = 8 << 20;

template <typename logit_t, typename acc_t>
void forward_tiles(const at::Tensor& hidden, const at::Tensor& mask, const at::Tensor& weight,
                  const at::Tensor& bias_acc, at::Tensor& pooled, at::Tensor& argmax) {
  const int64_t B = hidden.size(0), L = hidden.size(1), D = hidden.size(2), V = weight.size(0);
  const at::ScalarType gemm = c10::CppTypeToScalarType<logit_t>::value;
  at::Tensor keep = mask.ne(0).contiguous().view(-1);
  const bool* k = keep.data_ptr<bool>();
  std::vector<int64_t> doc_begin(B + 1, 0);
  std::vector<int32_t> positions;
  std::vector<int64_t> flat_rows;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i)
      if (k[b * L + i]) {
        positions.push_back(static_cast<int32_t>(i));
        flat_rows.push_back(b * L + i);
      }
    doc_begin[b + 1] = static_cast<int64_t>(positions.size());
  }
  const int64_t R = static_cast<int64_t>(positions.size());
  acc_t* out = pooled.data_ptr<acc_t>();
  int32_t* out_arg = argmax.data_ptr<int32_t>();
  if (R == 0) {
    pooled.zero_();
    argmax.fill_(-1);
    return;
  }
  at::Tensor flat = hidden.view({B * L, D});
  at::Tensor rows = (R == B * L ? flat : flat.index_select(0, at::tensor(flat_rows, at::kLong))).to(gemm).contiguous();
  const int64_t tile = std::clamp<int64_t>(kTileLogitsBytes / (R * static_cast<int64_t>(sizeof(logit_t))) / 16 * 16,
                                           64, 2048);
  at::Tensor logits = at::empty({R * std::min(tile, V)}, weight.options().dtype(gemm));
  at::Tensor tile_gemm = weight.scalar_type() != gemm ? at::empty({tile, D}, weight.options().dtype(gemm)) : at::Tensor();
  const acc_t* bias = bias_acc.data_ptr<acc_t>();
  const bool use_onednn = gemm == at::kFloat && gemm_backend() == GemmBackend::OneDnn;
  for (int64_t v0 = 0; v0 < V; v0 += tile) {
    const int64_t width = std::min(tile, V - v0);
    at::Tensor w_tile = weight.narrow(0, v0, width);
    if (tile_gemm.defined()) w_tile = tile_gemm.narrow(0, 0, width).copy_(w_tile);
    at::Tensor z = logits.narrow(0, 0, R * width).view({R, width});
    // fp32 tiles go through the process's GEMM backend (ops/gemm_backend.h: oneDNN is faster on AMD CPUs).
    if (use_onednn) z = onednn_linear(rows, w_tile, at::Tensor());
    else at::mm_out(z, rows, w_tile.t());
    const logit_t* zp = z.data_ptr<logit_t>();
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      std::vector<acc_t> best(width);
      std::vector<int32_t> arg(width);
      for (int64_t b = b0; b < b1; ++b) {
        acc_t* dst = out + b * V + v0;
        int32_t* dst_arg = out_arg + b * V + v0;
        const int64_t r0 = doc_begin[b], n = doc_begin[b + 1] - r0;
        running_max<logit_t, acc_t>(zp + r0 * width, n, width, positions.data() + r0, best.data(), arg.data());
        for (int64_t j = 0; j < width; ++j) {  // n = 0 (fully masked) leaves best = -inf: zero weight
          const acc_t value = best[j] + bias[v0 + j];
          const bool positive = value > acc_t(0);
          dst[j] = positive ? value : acc_t(0);
          dst_arg[j] = positive ? arg[j] : -1;
        }
      }
    });
  }
}

// grad_weight[v] = sum_b g[b,v] hidden[b, argmax[b,v]], grad_bias[v] = sum_b g[b,v]; tasks own vocab rows.
template <typename scalar_t, typename acc_t>
void backward_weight_bias(const acc_t* g, const int32_t* arg, const scalar_t* hidden, int64_t B, int64_t L,
                          int64_t D, int64_t V, scalar_t* grad_weight, scalar_t* grad_bias) {
  at::parallel_for(0, V, 64, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> row(D);
    for (int64_t v = begin; v < end; ++v) {
      std::fill(row.begin(), row.end(), acc_t(0));
      acc_t bias_sum = 0;
      for (int64_t b = 0; b < B; ++b) {
        const int32_t a = arg[b * V + v];
        const acc_t gv = g[b * V + v];
        if (a < 0 || gv == acc_t(0)) continue;
        bias_sum += gv;
        if (!grad_weight) continue;
        const scalar_t* h = hidden + (b * L + a) * D;
        for (int64_t d = 0; d < D; ++d) row[d] += gv * static_cast<acc_t>(h[d]);
      }
      if (grad_weight)
        for (int64_t d = 0; d < D; ++d) grad_weight[v * D + d] = static_cast<scalar_t>(row[d]);
      if (grad_bias) grad_bias[v] = static_cast<scalar_t>(bias_sum);
    }
  });
}

// grad_hidden[b, argmax[b,v]] += g[b,v] weight[v]; tasks own (document, slice of D), so B = 1 still
// uses every thread.
template <typename scalar_t, typename acc_t>
void backward_hidden(const acc_t* g, const int32_t* arg, const scalar_t* weight, int64_t B, int64_t L,
                     int64_t D, int64_t V, scalar_t* grad_hidden) {
  const int64_t threads = at::get_num_threads();
  const int64_t slices = std::clamp<int64_t>((2 * threads + B - 1) / B, 1, std::max<int64_t>(1, D / 64));
  const int64_t slice = (D + slices - 1) / slices;
  at::parallel_for(0, B * slices, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> acc_rows(L * slice);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / slices, d0 = (task % slices) * slice, width = std::min(slice, D - d0);
      if (width <= 0) continue;
      std::fill(acc_rows.begin(), acc_rows.end(), acc_t(0));
      for (int64_t v = 0; v < V; ++v) {
        const int32_t a = arg[b * V + v];
        const acc_t gv = g[b * V + v];
        if (a < 0 || gv == acc_t(0)) continue;
        acc_t* dst = acc_rows.data() + a * slice;
        const scalar_t* w = weight + v * D + d0;
        for (int64_t d = 0; d < width; ++d) dst[d] += gv * static_cast<acc_t>(w[d]);
      }
      for (int64_t i = 0; i < L; ++i)
        for (int64_t d = 0; d < width; ++d)
          grad_hidden[(b * L + i) * D + d0 + d] = static_cast<scalar_t>(acc_rows[i * slice + d]);
    }
  });
}

void check_cpu_floating(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.device().is_cpu(), "sparse_head (CPU kernel): ", what, " must be a CPU tensor, got ", t.device());
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble || t.scalar_type() == at::kBFloat16 ||
                  t.scalar_type() == at::kHalf,
              "sparse_head (CPU kernel): ", what, " must be float32, float64, bfloat16 or float16, got ",
              t.scalar_type());
}

}  // namespace

SparseHeadForward sparse_head_forward_cpu(const at::Tensor& hidden, const at::Tensor& weight,
                                          const at::Tensor& bias, const at::Tensor& mask) {
  check_cpu_floating(hidden, "hidden");
  TORCH_CHECK(hidden.dim() == 3 && weight.dim() == 2 && bias.dim() == 1 && mask.dim() == 2 &&
                  weight.size(1) == hidden.size(2) && bias.size(0) == weight.size(0) &&
                  mask.size(0) == hidden.size(0) && mask.size(1) == hidden.size(1),
              "sparse_head (CPU kernel): expected hidden [B,L,D], weight [V,D], bias [V], mask [B,L]; got ",
              hidden.sizes(), ", ", weight.sizes(), ", ", bias.sizes(), ", ", mask.sizes());
  TORCH_CHECK(weight.scalar_type() == hidden.scalar_type() && bias.scalar_type() == hidden.scalar_type(),
              "sparse_head (CPU kernel): hidden, weight and bias must share a dtype");
  TORCH_CHECK(weight.device().is_cpu() && bias.device().is_cpu() && mask.device().is_cpu(),
              "sparse_head (CPU kernel): all inputs must be CPU tensors");
  TORCH_CHECK(hidden.size(1) <= std::numeric_limits<int32_t>::max(), "sparse_head: L too large for int32 argmax");
  const at::ScalarType acc = accumulation_type(hidden.scalar_type());
  const int64_t B = hidden.size(0), V = weight.size(0);
  at::Tensor h = hidden.contiguous(), w = weight.contiguous();
  at::Tensor bias_acc = bias.to(acc).contiguous();
  const at::ScalarType gemm = gemm_type(hidden.scalar_type());
  SparseHeadForward out{at::empty({B, V}, h.options().dtype(acc)), at::empty({B, V}, h.options().dtype(at::kInt))};
  if (gemm == at::kDouble)
    forward_tiles<double, double>(h, mask, w, bias_acc, out.pooled, out.argmax);
  else if (gemm == at::kBFloat16)
    forward_tiles<c10::BFloat16, float>(h, mask, w, bias_acc, out.pooled, out.argmax);
  else
    forward_tiles<float, float>(h, mask, w, bias_acc, out.pooled, out.argmax);
  return out;
}

SparseHeadGrads sparse_head_backward_cpu(const at::Tensor& grad_pooled, const at::Tensor& argmax,
                                         const at::Tensor& hidden, const at::Tensor& weight, bool need_hidden,
                                         bool need_weight, bool need_bias) {
  check_cpu_floating(hidden, "hidden");
  TORCH_CHECK(hidden.dim() == 3 && weight.dim() == 2 && weight.size(1) == hidden.size(2) &&
                  weight.scalar_type() == hidden.scalar_type(),
              "sparse_head backward (CPU kernel): expected hidden [B,L,D] and weight [V,D] of one dtype; got ",
              hidden.sizes(), " ", hidden.scalar_type(), ", ", weight.sizes(), " ", weight.scalar_type());
  const int64_t B = hidden.size(0), L = hidden.size(1), D = hidden.size(2), V = weight.size(0);
  TORCH_CHECK(grad_pooled.sizes() == at::IntArrayRef({B, V}) && argmax.sizes() == at::IntArrayRef({B, V}),
              "sparse_head backward (CPU kernel): grad_pooled and argmax must be [B,V] = [", B, ",", V, "], got ",
              grad_pooled.sizes(), " and ", argmax.sizes());
  TORCH_CHECK(argmax.scalar_type() == at::kInt, "sparse_head backward: argmax must be int32");
  // Indices address rows of grad_hidden: out-of-range values would write outside it.
  TORCH_CHECK(argmax.numel() == 0 || (argmax.min().item<int32_t>() >= -1 && argmax.max().item<int32_t>() < L),
              "sparse_head backward (CPU kernel): argmax entries must lie in [-1, ", L, ")");
  const at::ScalarType acc = accumulation_type(hidden.scalar_type());
  at::Tensor g = grad_pooled.to(acc).contiguous(), a = argmax.contiguous();
  at::Tensor h = hidden.contiguous(), w = weight.contiguous();
  SparseHeadGrads grads;
  if (need_hidden) grads.grad_hidden = at::empty_like(h);
  if (need_weight) grads.grad_weight = at::empty_like(w);
  if (need_bias) grads.grad_bias = at::empty({V}, w.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, h.scalar_type(), "sparse_head_backward_cpu", [&] {
    using acc_t = std::conditional_t<std::is_same_v<scalar_t, double>, double, float>;
    const acc_t* gp = g.data_ptr<acc_t>();
    const int32_t* ap = a.data_ptr<int32_t>();
    if (need_weight || need_bias)
      backward_weight_bias<scalar_t, acc_t>(gp, ap, h.data_ptr<scalar_t>(), B, L, D, V,
                                            need_weight ? grads.grad_weight.data_ptr<scalar_t>() : nullptr,
                                            need_bias ? grads.grad_bias.data_ptr<scalar_t>() : nullptr);
    if (need_hidden)
      backward_hidden<scalar_t, acc_t>(gp, ap, w.data_ptr<scalar_t>(), B, L, D, V,
                                       grads.grad_hidden.data_ptr<scalar_t>());
  });
  return grads;
}

}  // namespace l0sparse::ops
