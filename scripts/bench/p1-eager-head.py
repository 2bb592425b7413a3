"""Benchmark P1, the peer: the same sparse head in PyTorch eager composed ops (torch 2.13 CPU).

Not a test. Run by scripts/bench/p1-fused-head.py with the venv's python (.venv-bench).
Same recipe as p1-fused-head.cc: logits = H W^T + b over [B,L,V], times the attention mask, max over
tokens, then the l0 activation log1p(log1p(relu(.))) on the max (max-then-activate, the cheaper order);
train = forward + backward (grads for H, W, b), encode = forward under no_grad.
Peak memory = VmHWM (reset once the inputs exist) minus the RSS at that point.
"""
import argparse
import json
import time

import torch


def rss_mb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def peak_rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError('no VmHWM')


def head(H, W, b, mask):
    logits = H @ W.t() + b
    pooled = (logits * mask.unsqueeze(-1)).amax(dim=1)
    return torch.log1p(torch.log1p(torch.relu(pooled)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--modes', default='encode,train')
    p.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
    for name, default in [('batch', 32), ('length', 256), ('dim', 768), ('vocab', 30522), ('threads', 2),
                          ('warmup', 1), ('warmup-batch', 2), ('reps', 1), ('seed', 0)]:
        p.add_argument('--' + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dt = torch.bfloat16 if a.dtype == 'bfloat16' else torch.float32
    B, L, D, V = a.batch, a.length, a.dim, a.vocab
    H = torch.randn(B, L, D).to(dt)
    W = (torch.randn(V, D) * 0.05).to(dt)
    bias = (torch.randn(V) * 0.1).to(dt)
    mask = torch.ones(B, L).to(dt)
    grad_out = torch.randn(B, V).to(dt)
    baseline = rss_mb()
    out = {'side': 'peer', 'dtype': a.dtype, 'baseline_mb': round(baseline, 1)}
    # One measurement per mode, each with its own peak (VmHWM reset before it): encode first, then train.
    for mode in ('encode', 'train'):
        if mode not in a.modes.split(','):
            continue
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        times, nnz = [], 0.0
        for it in range(a.warmup + a.reps):
            # Warm-up calls run the same op on the first warmup_batch documents (cheap on a shared machine).
            nb = min(B, a.warmup_batch) if it < a.warmup else B
            t0 = time.perf_counter()
            if mode == 'encode':
                with torch.no_grad():
                    w = head(H[:nb], W, bias, mask[:nb])
            else:
                h, wt, bb = (x.detach().requires_grad_(True) for x in (H[:nb], W, bias))
                w = head(h, wt, bb, mask[:nb])
                torch.autograd.grad([w], [h, wt, bb], [grad_out[:nb]])
            nnz = float((w != 0).sum()) / nb
            t1 = time.perf_counter()
            if it >= a.warmup:
                times.append(round(t1 - t0, 4))
            del w
        out[mode] = {'times_s': times, 'peak_mb': round(peak_rss_mb() - baseline, 1), 'doc_nnz': nnz}
    print(json.dumps(out))

if __name__ == '__main__':
    main()
