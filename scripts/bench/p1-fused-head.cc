// Benchmark P1, our side: the fused sparse head (l0sparse::ops::sparse_head) in one process.
// Not a test. Driven by scripts/bench/p1-fused-head.py, which runs this and the PyTorch eager peer
// (p1-eager-head.py) alternately and reads one JSON line from each.
//
//   p1-fused-head --modes encode,train --dtype float32|bfloat16 [--batch 32 --length 256 --dim 768
//                 --vocab 30522 --threads 2 --warmup 1 --warmup-batch 2 --reps 1 --seed 0]
// train = forward + backward (grads for hidden, weight, bias); encode = forward only, no autograd.
// Peak memory = peak RSS (VmHWM, reset once the inputs exist) minus the RSS at that point, both sides alike.
#include "ops/flops_loss.h"
#include "ops/sparse_head.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

double rss_mb() {  // current resident set size
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1048576.0);
}

// Peak RSS since the last reset_peak_rss(): Linux's VmHWM, which clear_refs '5' resets, so the
// temporaries made while building the inputs do not count.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      f >> kb;
      return kb / 1024.0;
    }
    std::getline(f, key);
  }
  rusage u{};  // fallback: the all-time peak
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

std::string arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string modes = arg(argc, argv, "--modes", "encode,train"), dtype = arg(argc, argv, "--dtype", "float32");
  const int64_t B = std::stoll(arg(argc, argv, "--batch", "32")), L = std::stoll(arg(argc, argv, "--length", "256")),
                D = std::stoll(arg(argc, argv, "--dim", "768")), V = std::stoll(arg(argc, argv, "--vocab", "30522"));
  const int threads = std::stoi(arg(argc, argv, "--threads", "2")), warmup = std::stoi(arg(argc, argv, "--warmup", "1")),
            reps = std::stoi(arg(argc, argv, "--reps", "1"));
  const int64_t warmup_batch = std::stoll(arg(argc, argv, "--warmup-batch", "2"));
  at::set_num_threads(threads);
  at::manual_seed(std::stoll(arg(argc, argv, "--seed", "0")));
  const at::ScalarType st = dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;

  // Same recipe as the peer: random MLM-like scales, full attention mask, l0 activation (k = 1).
  at::Tensor H = at::randn({B, L, D}).to(st), W = (at::randn({V, D}) * 0.05).to(st),
             bias = (at::randn({V}) * 0.1).to(st), mask = at::ones({B, L}), grad_out = at::randn({B, V}).to(st);
  const double baseline = rss_mb();

  // One measurement per mode, each with its own peak (VmHWM reset before it): encode first, then train.
  std::printf("{\"side\": \"ours\", \"dtype\": \"%s\", \"baseline_mb\": %.1f", dtype.c_str(), baseline);
  for (const std::string& m : {std::string("encode"), std::string("train")}) {
    if (modes.find(m) == std::string::npos) continue;
    reset_peak_rss();
    std::vector<double> times;
    double nnz = 0;
    for (int it = 0; it < warmup + reps; ++it) {
      auto t0 = std::chrono::steady_clock::now();
      // Warm-up calls run the same op on the first warmup_batch documents (cheap on a shared machine).
      const int64_t nb = it < warmup ? std::min(B, warmup_batch) : B;
      at::Tensor Hb = H.narrow(0, 0, nb), mb = mask.narrow(0, 0, nb), gb = grad_out.narrow(0, 0, nb);
      if (m == "encode") {
        at::NoGradGuard no_grad;
        at::Tensor w = l0sparse::ops::sparse_head(Hb, W, bias, mb, 1);
        nnz = w.ne(0).sum().item<double>() / nb;
      } else {
        at::Tensor h = Hb.detach().requires_grad_(true), w = W.detach().requires_grad_(true),
                   b = bias.detach().requires_grad_(true);
        at::Tensor out = l0sparse::ops::sparse_head(h, w, b, mb, 1);
        auto grads = torch::autograd::grad({out}, {h, w, b}, {gb});
        nnz = out.ne(0).sum().item<double>() / nb;
      }
      auto t1 = std::chrono::steady_clock::now();
      if (it >= warmup) times.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    std::printf(", \"%s\": {\"times_s\": [", m.c_str());
    for (size_t i = 0; i < times.size(); ++i) std::printf("%s%.4f", i ? ", " : "", times[i]);
    std::printf("], \"peak_mb\": %.1f, \"doc_nnz\": %.1f}", peak_rss_mb() - baseline, nnz);
  }
  {  // the l0-mask FLOPS loss (forward + backward) on a [B,V] batch of the same size: is it negligible?
    at::Tensor w = at::relu(at::randn({B, V})).requires_grad_(true);
    auto t0 = std::chrono::steady_clock::now();
    auto loss = l0sparse::ops::flops_loss(w, 2, 200);
    torch::autograd::grad({loss.loss}, {w});
    std::printf(", \"flops_loss_ms\": %.2f}\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return 0;
}
