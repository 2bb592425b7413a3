import * as fs from 'fs';
import * as path from 'path';

/** Deterministic pseudo-random numbers for test inputs: the library's seeded generator. */
export { mulberry32 as rng } from '../lib/train/schedule';

export function randn(n: number, next: () => number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

/** ../shared/data beside the checkout (or L0SPARSE_DATA); tests that need it skip when absent. */
export function sharedData(): string | null {
  const dir = process.env.L0SPARSE_DATA ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
  return fs.existsSync(dir) ? dir : null;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
