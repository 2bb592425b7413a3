// CPU kernels of the fused sparse head; interface and semantics in sparse_head_kernels.h.
//
// Forward: the vocabulary is cut into tiles; each task = (vocab tile, document) runs one GEMM of the
// document's real tokens [L_b, D] against the tile [T, D] through LibTorch (MKL) into a per-thread buffer
// [L_b, T] and folds it into a running max/argmax. Extra memory: threads x L x T logits, plus a
// copy of the real token rows when padding is dropped or the dtype converted — never anything of size B*L*V.
// Tasks are ordered tile-major so a thread's consecutive tasks reuse the same weight tile from cache.
// Padding rows are dropped before the GEMM: they could only contribute max(0, .), which the final
// clamp at 0 already provides.
//
// Backward (argmax only, cost ~ nnz x D): grad_weight/grad_bias rows are partitioned by vocab id and
// grad_hidden by (document, slice of D), so no two threads ever write the same element.
//
// Accumulation: float32 for float32/bfloat16/float16 inputs; float64 inputs keep float64 end to end (used by
// the finite-difference tests), so `pooled` is float64 there.
#include "ops/sparse_head_kernels.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <limits>
#include <vector>

namespace l0sparse::ops {
namespace {

// Vocab tile width: a [256, 768] float32 weight tile (768 KiB) plus the [L, 256] logits stay in L2.
constexpr int64_t kVocabTile = 256;

at::ScalarType accumulation_type(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

// dtype the per-tile GEMM runs in. bfloat16 stays bfloat16 (oneDNN, fp32 accumulation inside, logits
// rounded to bf16 on store, as PyTorch's own bf16 matmul): measured 2x the fp32 GEMM throughput per core on
// this AVX512-BF16 CPU at the tile shape [256x768]x[768x256]. L0SPARSE_BF16_GEMM=0 converts bf16 tiles to
// fp32 instead (exact logits of the bf16 values). float16 is converted to fp32.
at::ScalarType gemm_type(at::ScalarType t) {
  static const bool bf16_gemm = [] {
    const char* env = std::getenv("L0SPARSE_BF16_GEMM");
    return !(env && std::string(env) == "0");
  }();
  if (t == at::kBFloat16 && bf16_gemm) return at::kBFloat16;
  return accumulation_type(t);
}

// A document's real (mask != 0) token rows in the GEMM dtype, and their positions (ascending,
// so a strict '>' in the running max keeps the smallest position on ties).
struct DocumentRows {
  at::Tensor rows;  // [L_b, D], contiguous
  std::vector<int32_t> positions;
};

std::vector<DocumentRows> real_token_rows(const at::Tensor& hidden, const at::Tensor& mask, at::ScalarType gemm) {
  at::Tensor keep = mask.ne(0).contiguous();
  const bool* k = keep.data_ptr<bool>();
  const int64_t B = hidden.size(0), L = hidden.size(1);
  std::vector<DocumentRows> docs(B);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i)
      if (k[b * L + i]) docs[b].positions.push_back(static_cast<int32_t>(i));
    const auto n = static_cast<int64_t>(docs[b].positions.size());
    if (n == L) {
      docs[b].rows = hidden[b].to(gemm).contiguous();  // a view when no conversion is needed
    } else if (n > 0) {
      at::Tensor idx = at::from_blob(docs[b].positions.data(), {n}, at::kInt).to(at::kLong);
      docs[b].rows = hidden[b].index_select(0, idx).to(gemm).contiguous();
    }
  }
  return docs;
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

template <typename logit_t, typename acc_t>
void forward_tiles(const std::vector<DocumentRows>& docs, const at::Tensor& weight, const at::Tensor& bias_acc,
                   at::Tensor& pooled, at::Tensor& argmax) {
  const int64_t B = static_cast<int64_t>(docs.size()), V = weight.size(0), D = weight.size(1);
  const int64_t tiles = (V + kVocabTile - 1) / kVocabTile;
  int64_t max_rows = 0;
  for (const auto& d : docs) max_rows = std::max<int64_t>(max_rows, static_cast<int64_t>(d.positions.size()));
  const at::ScalarType gemm = c10::CppTypeToScalarType<logit_t>::value;
  const bool convert_weight = weight.scalar_type() != gemm;
  const acc_t* bias = bias_acc.data_ptr<acc_t>();
  acc_t* out = pooled.data_ptr<acc_t>();
  int32_t* out_arg = argmax.data_ptr<int32_t>();

  at::parallel_for(0, tiles * B, 1, [&](int64_t begin, int64_t end) {
    at::Tensor logits = at::empty({std::max<int64_t>(max_rows, 1) * kVocabTile}, weight.options().dtype(gemm));
    at::Tensor tile_gemm = convert_weight ? at::empty({kVocabTile, D}, weight.options().dtype(gemm)) : at::Tensor();
    std::vector<acc_t> best(kVocabTile);
    std::vector<int32_t> arg(kVocabTile);
    int64_t converted_tile = -1;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t tile = task / B, b = task % B;
      const int64_t v0 = tile * kVocabTile, width = std::min(kVocabTile, V - v0);
      const int64_t rows = static_cast<int64_t>(docs[b].positions.size());
      acc_t* dst = out + b * V + v0;
      int32_t* dst_arg = out_arg + b * V + v0;
      if (rows == 0) {  // fully masked document
        std::fill(dst, dst + width, acc_t(0));
        std::fill(dst_arg, dst_arg + width, -1);
        continue;
      }
      at::Tensor w_tile;
      if (convert_weight) {
        if (converted_tile != tile) {
          tile_gemm.narrow(0, 0, width).copy_(weight.narrow(0, v0, width));
          converted_tile = tile;
        }
        w_tile = tile_gemm.narrow(0, 0, width);
      } else {
        w_tile = weight.narrow(0, v0, width);
      }
      at::Tensor z = logits.narrow(0, 0, rows * width).view({rows, width});
      at::mm_out(z, docs[b].rows, w_tile.t());
      running_max<logit_t, acc_t>(z.data_ptr<logit_t>(), rows, width, docs[b].positions.data(), best.data(), arg.data());
      for (int64_t j = 0; j < width; ++j) {
        const acc_t value = best[j] + bias[v0 + j];
        const bool positive = value > acc_t(0);
        dst[j] = positive ? value : acc_t(0);
        dst_arg[j] = positive ? arg[j] : -1;
      }
    }
  });
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
  std::vector<DocumentRows> docs = real_token_rows(h, mask, gemm);
  SparseHeadForward out{at::empty({B, V}, h.options().dtype(acc)), at::empty({B, V}, h.options().dtype(at::kInt))};
  if (gemm == at::kDouble)
    forward_tiles<double, double>(docs, w, bias_acc, out.pooled, out.argmax);
  else if (gemm == at::kBFloat16)
    forward_tiles<c10::BFloat16, float>(docs, w, bias_acc, out.pooled, out.argmax);
  else
    forward_tiles<float, float>(docs, w, bias_acc, out.pooled, out.argmax);
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
