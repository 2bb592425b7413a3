// GPU check of the CUDA sparse head (scripts/gpu-check.sh builds and runs it on a machine with a GPU).
//  1. Correctness: the CUDA forwards (tiled: cuBLAS tiles + reduction kernel; fused: one kernel, WMMA for
//     16-bit inputs, FFMA for fp32, sparse_head_cuda_fused.cu) and sparse_head_backward_cuda against truths computed
//     on the CPU in float64: the masked max + first-argmax from composed ops, and value + gradients of
//     l0sparse::ops::sparse_head_reference through autograd. Inputs are multiples of 1/16 (bias 1/64), so
//     every logit is exact in fp32, bf16-input and fp16-input GEMMs alike: pooled values and argmax must
//     match exactly (ties included, which such data has plenty of), gradients to rounding.
//     The fused kernel runs every case in fp32/bf16/fp16 with extra_logs = 0..3 (its in-kernel activation is
//     checked against the reference's value), plus its own edge cases: position tiles of 64 (ties across
//     tiles and across the two halves of a tile), misaligned rows (scalar loads), D not a multiple of 8.
//  2. Timing at B=32 L=256 D=768 V=30522 (fp32, bf16): forward and forward+backward, fused and tiled vs the eager
//     composed reference on the same GPU, interleaved, median after warm-up, plus allocator peak memory.
// Usage: l0sparse_cuda_check [--json PATH] [--repeats N] [--timings-only]. Exit 0 when every check passes.
#include "ops/activation.h"
#include "ops/sparse_head.h"
#include "ops/sparse_head_cuda.h"
#include "ops/sparse_head_kernels.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using namespace l0sparse::ops;

namespace {

// ---- tiny JSON writer (flat objects and arrays of them are all the report needs) -------------------
struct Json {
  std::ostringstream out;
  bool first = true;
  void key(const std::string& k) {
    out << (first ? "" : ", ") << "\"" << k << "\": ";
    first = false;
  }
  Json& num(const std::string& k, double v) {
    key(k);
    if (std::isfinite(v)) out << v; else out << "null";
    return *this;
  }
  Json& str(const std::string& k, const std::string& v) {
    key(k);
    out << "\"" << v << "\"";
    return *this;
  }
  Json& boolean(const std::string& k, bool v) {
    key(k);
    out << (v ? "true" : "false");
    return *this;
  }
  Json& raw(const std::string& k, const std::string& v) {
    key(k);
    out << v;
    return *this;
  }
  std::string done() const { return "{" + out.str() + "}"; }
};

std::string join(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ",\n  " : "\n  ") + items[i];
  return s + (items.empty() ? "]" : "\n]");
}

const char* dtype_name(at::ScalarType t) {
  return t == at::kFloat ? "float32" : t == at::kBFloat16 ? "bfloat16" : t == at::kHalf ? "float16" : "other";
}

// ---- correctness -------------------------------------------------------------------------------
struct Case {
  std::string name;
  at::Tensor hidden, weight, bias, mask;  // float64, CPU: values exact in every tested dtype
  int64_t tile_cols = 0;                  // 0 = the production choice
  bool noncontiguous_hidden = false;
  bool misaligned_hidden = false;         // data pointer 1 element past an allocation: no 16-byte loads
};

enum class Kernel { kDefault, kTiled, kFused };
const char* kernel_name(Kernel k) { return k == Kernel::kFused ? "fused" : k == Kernel::kTiled ? "tiled" : "default"; }

at::Tensor quantized(at::IntArrayRef shape, int64_t levels, double step) {
  return at::randint(-levels, levels + 1, shape, at::kDouble) * step;
}

Case make_case(std::string name, int64_t B, int64_t L, int64_t D, int64_t V, std::vector<int64_t> lengths) {
  Case c;
  c.name = std::move(name);
  c.hidden = quantized({B, L, D}, 16, 1.0 / 16);
  c.weight = quantized({V, D}, 16, 1.0 / 16);
  c.bias = quantized({V}, 64, 1.0 / 64);
  c.mask = at::zeros({B, L}, at::kDouble);
  for (int64_t b = 0; b < B; ++b) c.mask[b].narrow(0, 0, std::min(L, lengths[b % lengths.size()])).fill_(1.0);
  return c;
}

struct Truth {
  at::Tensor pooled, argmax;            // masked max clamped at 0, first argmax or -1
  at::Tensor value;                     // sparse_head_reference output
  at::Tensor grad_hidden, grad_weight, grad_bias;
  at::Tensor upstream;                  // dL/dw used for the gradients
  int64_t ties = 0;                     // (doc, vocab) entries whose positive max is reached by >= 2 tokens
};

Truth compute_truth(const Case& c, int extra_logs) {
  Truth t;
  const int64_t L = c.hidden.size(1);
  at::Tensor logits = at::matmul(c.hidden, c.weight.t()) + c.bias;  // [B,L,V], exact in float64
  at::Tensor keep = c.mask.ne(0).unsqueeze(-1);
  at::Tensor masked = at::where(keep, logits, -std::numeric_limits<double>::infinity());
  auto [best, first] = masked.max(1);  // CPU max(dim) returns the first maximal index
  t.pooled = best.clamp_min(0.0);
  t.argmax = at::where(best > 0, first, -1).to(at::kInt);
  at::Tensor reached = (masked == best.unsqueeze(1)).logical_and(best.unsqueeze(1) > 0).sum(1);
  t.ties = (reached >= 2).sum().item<int64_t>();
  (void)L;

  at::Tensor H = c.hidden.clone().requires_grad_(true), W = c.weight.clone().requires_grad_(true),
             b = c.bias.clone().requires_grad_(true);
  at::Tensor value = sparse_head_reference(H, W, b, c.mask, extra_logs);
  t.upstream = at::randn(value.sizes(), at::kDouble);
  auto grads = torch::autograd::grad({value}, {H, W, b}, {t.upstream});
  t.value = value.detach();
  t.grad_hidden = grads[0];
  t.grad_weight = grads[1];
  t.grad_bias = grads[2];
  return t;
}

double max_abs(const at::Tensor& a) { return a.numel() ? a.abs().max().item<double>() : 0.0; }

// max |a - b| / max(max |b|, tiny): one number per tensor, comparable across shapes.
double rel_err(const at::Tensor& ours, const at::Tensor& truth) {
  at::Tensor a = ours.to(at::kCPU, at::kDouble), b = truth.to(at::kCPU, at::kDouble);
  return max_abs(a - b) / std::max(max_abs(b), 1e-30);
}

double grad_tolerance(at::ScalarType t) { return t == at::kFloat ? 1e-5 : t == at::kHalf ? 4e-3 : 2e-2; }

struct Outcome {
  std::string json;
  bool pass;
};

Outcome run_case(const Case& c, const Truth& t, at::ScalarType dtype, int extra_logs, Kernel kernel) {
  const auto dev = at::TensorOptions().device(at::kCUDA);
  at::Tensor H = c.hidden.to(dev.dtype(dtype));
  if (c.noncontiguous_hidden) H = H.transpose(0, 1).contiguous().transpose(0, 1);
  if (c.misaligned_hidden) {
    at::Tensor flat = at::empty({H.numel() + 1}, H.options());
    H = flat.narrow(0, 1, H.numel()).view(H.sizes()).copy_(H);
  }
  const at::Tensor W = c.weight.to(dev.dtype(dtype)), b = c.bias.to(dev.dtype(dtype));
  const at::Tensor mask = c.mask.to(dev.dtype(at::kFloat));
  SparseHeadForward fwd;
  at::Tensor in_kernel_value;  // the fused kernel's own f(max)
  if (kernel == Kernel::kFused) {
    fwd = sparse_head_forward_cuda_fused(H, W, b, mask, extra_logs, &in_kernel_value);
  } else if (kernel == Kernel::kTiled || c.tile_cols > 0) {
    fwd = sparse_head_forward_cuda_tiled(H, W, b, mask, c.tile_cols > 0 ? c.tile_cols
                                                                      : sparse_head_cuda_tile_cols(H.size(0) * H.size(1), W.size(0)));
  } else {
    fwd = sparse_head_forward_cuda(H, W, b, mask);
  }
  // Upstream gradient through the activation on the pooled max (what the autograd Function does).
  at::Tensor x = fwd.pooled.clone().requires_grad_(true);
  at::Tensor value = activation_reference(x, extra_logs);
  const double kernel_value_err = in_kernel_value.defined() ? rel_err(in_kernel_value, t.value) : 0.0;
  at::Tensor grad_pooled =
      torch::autograd::grad({value}, {x}, {t.upstream.to(dev.dtype(at::kFloat))})[0];
  const SparseHeadGrads g = sparse_head_backward_cuda(grad_pooled, fwd.argmax, H, W, true, true, true);
  c10::cuda::device_synchronize();

  const double pooled_err = max_abs(fwd.pooled.to(at::kCPU, at::kDouble) - t.pooled);
  const int64_t argmax_mismatch = fwd.argmax.cpu().ne(t.argmax).sum().item<int64_t>();
  const double value_err = rel_err(value, t.value);
  const double gh = rel_err(g.grad_hidden, t.grad_hidden), gw = rel_err(g.grad_weight, t.grad_weight),
               gb = rel_err(g.grad_bias, t.grad_bias);
  const double tol = grad_tolerance(dtype);
  const bool dtypes_ok = g.grad_hidden.scalar_type() == dtype && g.grad_weight.scalar_type() == dtype &&
                         g.grad_bias.scalar_type() == dtype && fwd.pooled.scalar_type() == at::kFloat &&
                         fwd.argmax.scalar_type() == at::kInt;
  const bool pass = pooled_err == 0.0 && argmax_mismatch == 0 && value_err <= 1e-6 && kernel_value_err <= 1e-6 &&
                    gh <= tol && gw <= tol && gb <= tol && dtypes_ok;
  Json j;
  j.str("case", c.name).str("kernel", kernel_name(kernel)).str("dtype", dtype_name(dtype)).num("B", c.hidden.size(0)).num("L", c.hidden.size(1))
      .num("D", c.hidden.size(2)).num("V", c.weight.size(0)).num("extra_logs", extra_logs)
      .num("tile_cols", c.tile_cols > 0 ? c.tile_cols
                                         : sparse_head_cuda_tile_cols(c.hidden.size(0) * c.hidden.size(1),
                                                                      c.weight.size(0)))
      .num("positive_entries", (t.pooled > 0).sum().item<int64_t>()).num("tied_entries", t.ties)
      .num("pooled_max_abs_err", pooled_err).num("argmax_mismatches", argmax_mismatch)
      .num("value_rel_err", value_err).num("in_kernel_value_rel_err", kernel_value_err).num("grad_hidden_rel_err", gh).num("grad_weight_rel_err", gw)
      .num("grad_bias_rel_err", gb).num("grad_tolerance", tol).boolean("output_dtypes_ok", dtypes_ok)
      .boolean("pass", pass);
  std::printf("%-26s %-5s k=%d %-8s pooled_err=%.1e argmax_mismatch=%lld ties=%lld value=%.1e/%.1e dH=%.1e dW=%.1e "
              "db=%.1e %s\n",
              c.name.c_str(), kernel_name(kernel), extra_logs, dtype_name(dtype), pooled_err,
              static_cast<long long>(argmax_mismatch), static_cast<long long>(t.ties), value_err, kernel_value_err, gh,
              gw, gb, pass ? "PASS" : "FAIL");
  return {j.done(), pass};
}

std::vector<Case> correctness_cases() {
  std::vector<Case> cases;
  cases.push_back(make_case("distilbert_vocab", 4, 128, 768, 30522, {128, 100, 37, 1}));
  Case tiles = cases.back();
  tiles.name = "tiles_1000_cols";  // 30522 = 30 * 1000 + 522: many tile borders and a ragged last tile
  tiles.tile_cols = 1000;
  cases.push_back(tiles);
  Case strided = cases.front();
  strided.name = "noncontiguous_hidden";
  strided.noncontiguous_hidden = true;
  cases.push_back(strided);

  Case masked = make_case("fully_masked_doc", 3, 16, 64, 1000, {16, 0, 5});
  cases.push_back(masked);
  Case negative = make_case("all_logits_nonpositive", 2, 8, 64, 777, {8, 3});
  negative.bias = at::full({777}, -65.0, at::kDouble);  // |h . w| <= 64 with D = 64 and |h|,|w| <= 1
  cases.push_back(negative);
  cases.push_back(make_case("single_token", 5, 1, 128, 513, {1}));
  Case ties = make_case("all_tokens_identical", 3, 12, 96, 700, {12, 12, 7});
  ties.hidden = ties.hidden.narrow(1, 0, 1).expand({3, 12, 96}).contiguous();
  ties.mask[1][0] = 0.0;  // first token masked out: the tie must go to token 1
  cases.push_back(ties);
  cases.push_back(make_case("single_doc", 1, 64, 768, 2049, {50}));
  cases.push_back(make_case("wide_rows_d1000", 2, 40, 1000, 3001, {40, 33}));
  cases.push_back(make_case("narrow_rows_d100", 6, 20, 100, 1500, {20, 10, 1}));
  return cases;
}

// Edge cases of the fused kernel's tiling (64 positions x 128 columns x 32 features per stage).
std::vector<Case> fused_cases() {
  std::vector<Case> cases;
  // Identical tokens: every positive entry is a tie over all kept positions. Doc 0 keeps 0..149 (answer 0);
  // doc 1 masks 0..39, so the winner (40) sits in the second half of the first tile while equal values come
  // later in the tile and in the next two tiles; doc 2 keeps 70..129 only (answer 70, second tile).
  Case ties = make_case("identical_tokens_3_tiles", 3, 150, 64, 300, {150});
  ties.hidden = ties.hidden.narrow(1, 0, 1).expand({3, 150, 64}).contiguous();
  ties.mask[1].narrow(0, 0, 40).fill_(0.0);
  ties.mask[2].zero_();
  ties.mask[2].narrow(0, 70, 60).fill_(1.0);
  cases.push_back(ties);
  // Rows of 36 features: not a multiple of 8 (bf16/fp16) nor of the 32-feature stage; ragged position tile.
  cases.push_back(make_case("d36_l70", 3, 70, 36, 515, {70, 65, 64}));
  Case misaligned = make_case("misaligned_rows", 2, 33, 256, 640, {33, 17});
  misaligned.misaligned_hidden = true;
  cases.push_back(misaligned);
  cases.push_back(make_case("l257_lengths_across_tiles", 2, 257, 128, 1000, {257, 129}));
  return cases;
}

// ---- timing ------------------------------------------------------------------------------------
double seconds_of(const std::function<void()>& fn) {
  c10::cuda::device_synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  c10::cuda::device_synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Bytes the caching allocator held at its peak during fn, beyond what was allocated before it.
double peak_extra_mb(const std::function<void()>& fn) {
  namespace alloc = c10::cuda::CUDACachingAllocator;
  const int device = c10::cuda::current_device();
  c10::cuda::device_synchronize();
  alloc::emptyCache();
  alloc::resetPeakStats(device);
  const auto before = alloc::getDeviceStats(device).allocated_bytes[0].current;
  fn();
  c10::cuda::device_synchronize();
  const auto peak = alloc::getDeviceStats(device).allocated_bytes[0].peak;
  return double(peak - before) / (1 << 20);
}

struct Workload {
  at::Tensor H, W, b, mask, upstream;
};

Workload make_workload(at::ScalarType dtype, int64_t B, int64_t L, int64_t D, int64_t V) {
  const auto dev = at::TensorOptions().device(at::kCUDA);
  Workload w;
  w.H = at::randn({B, L, D}, dev.dtype(at::kFloat)).to(dtype);
  w.W = (at::randn({V, D}, dev.dtype(at::kFloat)) * 0.05).to(dtype);
  w.b = (at::randn({V}, dev.dtype(at::kFloat)) * 0.1).to(dtype);
  at::Tensor lengths = at::randint(L / 2, L + 1, {B, 1}, dev.dtype(at::kLong));
  w.mask = (at::arange(L, dev.dtype(at::kLong)).unsqueeze(0) < lengths).to(at::kFloat);
  w.upstream = at::randn({B, V}, dev.dtype(at::kFloat)).to(dtype);
  return w;
}

struct Results {
  at::Tensor value, gh, gw, gb;
};

// Ours as the autograd Function runs it: the fused kernel returns f(max) itself; the tiled one is followed by
// the composed activation.
Results ours_forward(const Workload& w, int k, Kernel kernel) {
  if (kernel == Kernel::kFused) {
    at::Tensor activated;
    sparse_head_forward_cuda_fused(w.H, w.W, w.b, w.mask, k, &activated);
    return {activated.to(w.H.scalar_type()), {}, {}, {}};
  }
  const SparseHeadForward fwd = sparse_head_forward_cuda_tiled(
      w.H, w.W, w.b, w.mask, sparse_head_cuda_tile_cols(w.H.size(0) * w.H.size(1), w.W.size(0)));
  return {activation_reference(fwd.pooled, k).to(w.H.scalar_type()), {}, {}, {}};
}

Results ours_train(const Workload& w, int k, Kernel kernel) {
  const SparseHeadForward fwd =
      kernel == Kernel::kFused ? sparse_head_forward_cuda_fused(w.H, w.W, w.b, w.mask, k, nullptr)
                               : sparse_head_forward_cuda_tiled(w.H, w.W, w.b, w.mask,
                                                                sparse_head_cuda_tile_cols(w.H.size(0) * w.H.size(1),
                                                                                           w.W.size(0)));
  at::Tensor x = fwd.pooled.requires_grad_(true);
  at::Tensor value = activation_reference(x, k);
  at::Tensor grad_pooled = torch::autograd::grad({value}, {x}, {w.upstream.to(at::kFloat)})[0];
  const SparseHeadGrads g = sparse_head_backward_cuda(grad_pooled, fwd.argmax, w.H, w.W, true, true, true);
  return {value.detach().to(w.H.scalar_type()), g.grad_hidden, g.grad_weight, g.grad_bias};
}

Results eager_forward(const Workload& w, int k) {
  c10::AutoGradMode no_grad(false);
  return {sparse_head_reference(w.H, w.W, w.b, w.mask, k), {}, {}, {}};
}

Results eager_train(const Workload& w, int k) {
  at::Tensor H = w.H.detach().requires_grad_(true), W = w.W.detach().requires_grad_(true),
             b = w.b.detach().requires_grad_(true);
  at::Tensor value = sparse_head_reference(H, W, b, w.mask, k);
  auto grads = torch::autograd::grad({value}, {H, W, b}, {w.upstream});
  return {value.detach(), grads[0], grads[1], grads[2]};
}

double rel_fro(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  return ((x - y).norm() / y.norm().clamp_min(1e-30)).item<double>();
}

std::string ms_list(const std::vector<double>& seconds) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < seconds.size(); ++i) out << (i ? ", " : "") << seconds[i] * 1e3;
  return out.str() + "]";
}

std::string time_pair(const std::string& mode, const Workload& w, int k, int repeats,
                      const std::function<Results(const Workload&, int)>& ours,
                      const std::function<Results(const Workload&, int)>& eager) {
  for (int i = 0; i < 3; ++i) {  // warm-up: cuBLAS heuristics, allocator pools
    ours(w, k);
    eager(w, k);
  }
  std::vector<double> t_ours, t_eager;
  for (int i = 0; i < repeats; ++i) {  // interleaved A B A B
    t_ours.push_back(seconds_of([&] { ours(w, k); }));
    t_eager.push_back(seconds_of([&] { eager(w, k); }));
  }
  const double mem_ours = peak_extra_mb([&] { ours(w, k); });
  const double mem_eager = peak_extra_mb([&] { eager(w, k); });
  Results a = ours(w, k), e = eager(w, k);
  const double mo = median(t_ours), me = median(t_eager);
  Json j;
  j.str("mode", mode).str("dtype", dtype_name(w.H.scalar_type())).num("repeats", repeats)
      .num("ours_median_ms", mo * 1e3).num("eager_median_ms", me * 1e3).num("speedup", me / mo)
      .num("ours_min_ms", *std::min_element(t_ours.begin(), t_ours.end()) * 1e3)
      .num("eager_min_ms", *std::min_element(t_eager.begin(), t_eager.end()) * 1e3)
      .raw("ours_times_ms", ms_list(t_ours)).raw("eager_times_ms", ms_list(t_eager))
      .num("ours_peak_extra_mb", mem_ours).num("eager_peak_extra_mb", mem_eager)
      .num("memory_ratio", mem_eager / std::max(mem_ours, 1e-9)).num("value_rel_fro_vs_eager", rel_fro(a.value, e.value));
  if (a.gh.defined()) {
    j.num("grad_hidden_rel_fro_vs_eager", rel_fro(a.gh, e.gh)).num("grad_weight_rel_fro_vs_eager", rel_fro(a.gw, e.gw))
        .num("grad_bias_rel_fro_vs_eager", rel_fro(a.gb, e.gb));
  }
  std::printf("%-24s %-8s ours %8.3f ms  eager %8.3f ms  speedup %5.2fx | peak extra ours %8.1f MB eager %8.1f MB (%.1fx)\n",
              mode.c_str(), dtype_name(w.H.scalar_type()), mo * 1e3, me * 1e3, me / mo, mem_ours, mem_eager,
              mem_eager / std::max(mem_ours, 1e-9));
  return j.done();
}

std::string gemm_floor(const Workload& w, int repeats) {
  // The unavoidable part of the forward: one [B*L, D] x [D, V] product (what eager also does first).
  const at::Tensor h2 = w.H.view({-1, w.H.size(2)}), wt = w.W.t();
  for (int i = 0; i < 3; ++i) at::mm(h2, wt);
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) t.push_back(seconds_of([&] { at::mm(h2, wt); }));
  const double m = median(t);
  const double tflops = 2.0 * h2.size(0) * h2.size(1) * wt.size(1) / m / 1e12;
  std::printf("%-24s %-8s %8.3f ms (%.0f TFLOP/s)\n", "gemm_only", dtype_name(w.H.scalar_type()), m * 1e3, tflops);
  Json j;
  j.str("mode", "gemm_only").str("dtype", dtype_name(w.H.scalar_type())).num("median_ms", m * 1e3)
      .num("tflops", tflops);
  return j.done();
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  int repeats = 15;
  bool timings_only = false;  // skip the correctness cases (scripts/gpu-check.sh STEPS=p5)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
    else if (a == "--timings-only") timings_only = true;
  }
  if (c10::cuda::device_count() == 0) {
    std::fprintf(stderr, "l0sparse_cuda_check: no CUDA device visible\n");
    return 2;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  std::printf("device: %s (sm_%d%d, %d SMs), torch %s, CUDA runtime %d, driver %d, TF32 matmul %s\n", prop.name,
              prop.major, prop.minor, prop.multiProcessorCount, TORCH_VERSION, runtime, driver,
              at::globalContext().allowTF32CuBLAS() ? "on" : "off");
  at::manual_seed(20250420);
  bool all_pass = true;
  const auto t_start = std::chrono::steady_clock::now();

  // Exactness of the quantized checks needs fp32 partial sums in every GEMM (cuBLAS may otherwise keep split-K
  // partials of fp16/bf16 GEMMs in reduced precision); the timings below run with PyTorch's defaults again.
  at::globalContext().setAllowFP16ReductionCuBLAS(false);
  at::globalContext().setAllowBF16ReductionCuBLAS(false);
  std::vector<std::string> checks;
  for (const Case& c : timings_only ? std::vector<Case>{} : correctness_cases()) {
    const bool main_case = c.name == "distilbert_vocab";
    const int extra_logs = c.name == "tiles_1000_cols" ? 0 : 1;  // both activations of docs/METHOD.md §1
    const Truth t = compute_truth(c, extra_logs);
    std::vector<at::ScalarType> dtypes = {at::kFloat};
    if (main_case || c.name == "all_tokens_identical" || c.name == "fully_masked_doc") {
      dtypes.push_back(at::kBFloat16);
      dtypes.push_back(at::kHalf);
    }
    for (at::ScalarType dt : dtypes) {
      Outcome o = run_case(c, t, dt, extra_logs, Kernel::kTiled);
      all_pass = all_pass && o.pass;
      checks.push_back(o.json);
    }
  }
  // The fused kernel: every case, every dtype, every activation (the tile-width case is the tiled path's own).
  const bool fused_runs = prop.major >= 8;
  if (!fused_runs) std::printf("fused kernel: skipped, needs sm_80+ (this GPU is sm_%d%d)\n", prop.major, prop.minor);
  std::vector<Case> all_cases = correctness_cases();
  for (Case& c : fused_cases()) all_cases.push_back(std::move(c));
  for (const Case& c : all_cases) {
    if (!fused_runs || timings_only || c.name == "tiles_1000_cols") continue;
    for (int extra_logs = 0; extra_logs <= kMaxExtraLogs; ++extra_logs) {
      const Truth t = compute_truth(c, extra_logs);
      for (at::ScalarType dt : {at::kFloat, at::kBFloat16, at::kHalf}) {
        Outcome o = run_case(c, t, dt, extra_logs, Kernel::kFused);
        all_pass = all_pass && o.pass;
        checks.push_back(o.json);
      }
    }
  }

  at::globalContext().setAllowFP16ReductionCuBLAS(true);
  at::globalContext().setAllowBF16ReductionCuBLAS(true);
  std::vector<std::string> timings;
  const int64_t B = 32, L = 256, D = 768, V = 30522;
  for (at::ScalarType dt : {at::kFloat, at::kBFloat16}) {
    const Workload w = make_workload(dt, B, L, D, V);
    timings.push_back(gemm_floor(w, repeats));
    for (Kernel kernel : {Kernel::kFused, Kernel::kTiled}) {
      if (kernel == Kernel::kFused && !fused_runs) continue;
      const std::string name = kernel_name(kernel);
      timings.push_back(time_pair("forward_" + name, w, 1, repeats,
                                  [kernel](const Workload& x, int k) { return ours_forward(x, k, kernel); },
                                  eager_forward));
      timings.push_back(time_pair("forward_backward_" + name, w, 1, repeats,
                                  [kernel](const Workload& x, int k) { return ours_train(x, k, kernel); },
                                  eager_train));
    }
  }

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::ostringstream device;
  device << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount << " SMs, "
         << (prop.totalGlobalMem >> 20) << " MiB)";
  Json report;
  report.str("figure", "gpu-check").str("device", device.str()).str("torch", TORCH_VERSION)
      .num("cuda_runtime", runtime).num("cuda_driver", driver)
      .boolean("tf32_matmul", at::globalContext().allowTF32CuBLAS())
      .raw("shapes", "{\"B\": 32, \"L\": 256, \"D\": 768, \"V\": 30522, \"extra_logs\": 1}")
      .str("ours", "fused: sparse_head_forward_cuda_fused (one kernel, activation inside); tiled: "
                   "sparse_head_forward_cuda_tiled + composed activation; both + sparse_head_backward_cuda")
      .str("eager", "l0sparse::ops::sparse_head_reference (composed ATen ops) + autograd")
      .str("timing", "median of repeats after 3 warm-ups, interleaved, cudaDeviceSynchronize around each call")
      .str("memory", "CUDA caching allocator peak allocated bytes during the call minus bytes allocated before it")
      .raw("checks", join(checks)).raw("timings", join(timings)).num("wall_s", wall).boolean("all_pass", all_pass);
  const std::string text = report.done() + "\n";
  if (!json_path.empty()) {
    std::ofstream(json_path) << text;
    std::printf("wrote %s\n", json_path.c_str());
  }
  std::printf("%s (%.1f s)\n", all_pass ? "ALL CHECKS PASS" : "SOME CHECKS FAILED", wall);
  return all_pass ? 0 : 1;
}
