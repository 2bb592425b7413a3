#!/usr/bin/env python3
"""Benchmark P5 (docs/BENCHMARKS.md): the fused CUDA sparse head, forward + backward, vs eager composed ATen ops
on the same GPU, B=32 L=256 D=768 V=30522, fp32 and bf16. The timings come from l0sparse_cuda_check
(native/tests/cuda_check.cc, run by scripts/gpu-check.sh): per dtype the interleaved median of the fused
kernel's forward+backward and of sparse_head_reference + autograd, and the caching allocator's peak during
each call. This script only reshapes that report into the BENCHMARKS layout; it computes no timing itself.

  python3 scripts/bench/p5-gpu-head.py bench/work/gpu-check/gpu-check.json --out bench/results/P5-gpu-head.json
"""
import argparse
import json
import os
import subprocess

GOALS = {'speedup': 4.8, 'memory_ratio': 10.0}  # Sparton's published "up to 4.8x faster, ~10x less memory"


def side(timing, who):
    return {
        'median_s': timing[f'{who}_median_ms'] / 1e3,
        'peak_mb': timing[f'{who}_peak_extra_mb'],
        'times_s': [t / 1e3 for t in timing.get(f'{who}_times_ms', [])],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('report', help='gpu-check.json written by l0sparse_cuda_check')
    parser.add_argument('--out', required=True)
    parser.add_argument('--command', default='bash scripts/gpu-check.sh')
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    by_dtype = {}
    for t in report['timings']:
        if t.get('mode') in ('forward_backward_fused', 'forward_fused', 'forward_backward_tiled'):
            by_dtype.setdefault(t['dtype'], {})[t['mode']] = t
    if not by_dtype or not all('forward_backward_fused' in v for v in by_dtype.values()):
        raise SystemExit(f'{args.report} has no fused forward_backward timings (GPU below sm_80?)')
    results = {}
    for dtype, modes in sorted(by_dtype.items()):
        fb = modes['forward_backward_fused']
        entry = {
            'ours': {'name': 'l0sparse fused CUDA head (one kernel forward, argmax-row backward)', **side(fb, 'ours')},
            'peer': {'name': 'eager composed ATen ops (sparse_head_reference) + autograd', **side(fb, 'eager')},
            'speedup': fb['speedup'],
            'memory_ratio': fb['memory_ratio'],
            'agreement': {k: fb[k] for k in fb if k.endswith('_rel_fro_vs_eager')},
        }
        if 'forward_fused' in modes:
            fwd = modes['forward_fused']
            entry['forward_only'] = {'ours_median_s': fwd['ours_median_ms'] / 1e3,
                                     'peer_median_s': fwd['eager_median_ms'] / 1e3, 'speedup': fwd['speedup'],
                                     'memory_ratio': fwd['memory_ratio']}
        if 'forward_backward_tiled' in modes:
            tiled = modes['forward_backward_tiled']
            entry['tiled_forward_backward'] = {'median_s': tiled['ours_median_ms'] / 1e3,
                                               'speedup': tiled['speedup'], 'memory_ratio': tiled['memory_ratio']}
        results[dtype] = entry
    commit = os.environ.get('COMMIT') or subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True,
                                                        text=True).stdout.strip() or 'unknown'
    main_entry = results.get('bfloat16') or next(iter(results.values()))
    out = {
        'figure': 'P5-gpu-head',
        'command': args.command,
        'commit': commit,
        'machine': f"{report['device']}, torch {report['torch']}, CUDA runtime {report['cuda_runtime']}, "
                   f"driver {report['cuda_driver']}",
        'threads': 'n/a (GPU)',
        'shapes': {**report['shapes'], 'dtypes': sorted(results)},
        'timing': report.get('timing'),
        'memory': report.get('memory'),
        'ours': main_entry['ours'],
        'peer': main_entry['peer'],
        'speedup': main_entry['speedup'],
        'memory_ratio': main_entry['memory_ratio'],
        'headline_dtype': 'bfloat16' if 'bfloat16' in results else next(iter(results)),
        'by_dtype': results,
        'goal': GOALS,
        'goal_met': {d: {'speedup': r['speedup'] >= GOALS['speedup'],
                         'memory_ratio': r['memory_ratio'] >= GOALS['memory_ratio']} for d, r in results.items()},
        'checks_all_pass': report.get('all_pass'),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + '.tmp', 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    os.replace(args.out + '.tmp', args.out)
    for d, r in results.items():
        print(f"P5 {d}: fwd+bwd speedup {r['speedup']:.2f}x, memory ratio {r['memory_ratio']:.1f}x")


if __name__ == '__main__':
    main()
