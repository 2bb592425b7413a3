"""Benchmark P1 driver: fused sparse head (ours, C++) vs PyTorch eager composed ops (peer, Python).

Not a test. Protocol: docs/BENCHMARKS.md: same shapes, dtype and thread count; every side in
its own process (peak RSS per process), processes interleaved A B A B ..., warm-up inside each process,
median over rounds. Writes bench/results/P1-fused-head.json (float32) and P1-fused-head-bf16.json.

  cmake -S . -B build-p1 -G Ninja -DTORCH_ROOT=$(node -p "require('./.deps/libtorch.json').root") -DL0SPARSE_BENCH=ON
  ninja -C build-p1 p1-fused-head
  python3 -m venv .venv-bench && .venv-bench/bin/pip install --retries 0 torch==2.13.0 numpy
  .venv-bench/bin/python scripts/bench/p1-fused-head.py --rounds 5
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def cpu_name():
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.processor()


def summary(samples, key):
    times = [t for s in samples for t in s[key]['times_s']]
    return {'median_s': round(statistics.median(times), 4), 'times_s': times,
            'peak_mb': round(statistics.median(s[key]['peak_mb'] for s in samples), 1),
            'doc_nnz': samples[-1][key]['doc_nnz']}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--dtypes', default='float32,bfloat16')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--exe', default=os.path.join(ROOT, 'build-p1', 'p1-fused-head'))
    a = p.parse_args()
    shapes = {'B': 32, 'L': 256, 'D': 768, 'V': 30522}
    common = ['--threads', str(a.threads), '--warmup', '1', '--warmup-batch', '2', '--reps', '1']
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    for dtype in a.dtypes.split(','):
        load_before = load()
        ours, peer = [], []
        for r in range(a.rounds):  # A B A B ...
            ours.append(run([a.exe, '--dtype', dtype] + common))
            peer.append(run([sys.executable, os.path.join(ROOT, 'scripts/bench/p1-eager-head.py'),
                             '--dtype', dtype] + common))
            print(f'{dtype} round {r + 1}: ours {ours[-1]}\n  peer {peer[-1]}', file=sys.stderr)
        result = {
            'figure': 'P1-fused-head' + ('-bf16' if dtype == 'bfloat16' else ''),
            'command': '.venv-bench/bin/python scripts/bench/p1-fused-head.py --rounds %d --dtypes %s'
                       % (a.rounds, dtype),
            'commit': commit, 'machine': f'{cpu_name()}, {os.cpu_count()} cores, no GPU',
            'threads': a.threads, 'dtype': dtype,
            'shapes': dict(shapes, activation='l0 (k=1)', mask='all tokens real',
                           init='randn H, 0.05 randn W, 0.1 randn b (dense output: every doc has V nonzeros)'),
            'load_avg_before': load_before, 'load_avg_after': load(),
        }
        for mode, label in (('train', None), ('encode', 'encode')):
            o, q = summary(ours, mode), summary(peer, mode)
            block = {'ours': o, 'peer': dict(name='PyTorch 2.13.0 eager composed ops (matmul + bias, mask, '
                                                   'amax over tokens, activation; autograd)', **q),
                     'speedup': round(q['median_s'] / o['median_s'], 2),
                     'memory_ratio': round(q['peak_mb'] / o['peak_mb'], 1)}
            if label:
                result['encode'] = block
            else:
                result.update(block)
        result['flops_loss_ms'] = round(statistics.median(s['flops_loss_ms'] for s in ours), 2)
        result['notes'] = ('train = forward + backward (grads of hidden, weight, bias); encode = forward only. '
                           'Times: wall clock of one call per process and mode, after one warm-up call of the same op '
                           'on 2 documents, median over rounds (processes interleaved ours/peer). peak_mb: VmHWM reset after the inputs exist, minus RSS then (gradient buffers '
                           'count on both sides). flops_loss_ms: our l0-mask FLOPS loss forward+backward on [B,V]. '
                           'Shared 2-core machine: see load_avg; ratios only.')
        name = 'P1-fused-head' + ('-bf16' if dtype == 'bfloat16' else '') + '.json'
        with open(os.path.join(ROOT, 'bench', 'results', name), 'w') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
        print(json.dumps({k: result[k] for k in ('figure', 'speedup', 'memory_ratio')}), file=sys.stderr)


if __name__ == '__main__':
    main()
