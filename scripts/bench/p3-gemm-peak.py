#!/usr/bin/env python3
"""The machine's GEMM peak for benchmark P3 (issue 20): GFLOP/s of torch 2.13 on an encoder-shaped GEMM
([M x 768] x [768 x 3072], the FFN of a 768-wide layer) at the given thread count, through MKL
(torch.nn.functional.linear, fp32), oneDNN (torch.ops.mkldnn._linear_pointwise, fp32) and bf16 (linear in
bfloat16, which torch runs through oneDNN). Best of a few repetitions after a warm-up; prints one JSON object.

  .venv-fixtures/bin/python scripts/bench/p3-gemm-peak.py [--threads 2] [--m 4096] [--reps 5]
"""
import argparse
import json
import time

import torch


def best_seconds(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--m", type=int, default=4096)
    parser.add_argument("--k", type=int, default=768)
    parser.add_argument("--n", type=int, default=3072)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, w, b = torch.randn(args.m, args.k), torch.randn(args.n, args.k), torch.randn(args.n)
    xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()
    flop = 2.0 * args.m * args.k * args.n
    with torch.inference_mode():
        result = {
            "shape": [args.m, args.k, args.n],
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "fp32_mkl_gflops": flop / best_seconds(lambda: torch.nn.functional.linear(x, w, b), args.reps) / 1e9,
            "fp32_onednn_gflops": flop / best_seconds(
                lambda: torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], ""), args.reps) / 1e9,
            "bf16_gflops": flop / best_seconds(lambda: torch.nn.functional.linear(xb, wb, bb), args.reps) / 1e9,
            "bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        }
    result["fp32_peak_gflops"] = max(result["fp32_mkl_gflops"], result["fp32_onednn_gflops"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
