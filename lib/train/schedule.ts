/**
 * Which training groups go into which step. The order is a pure function of (seed, step), so a resumed
 * run feeds exactly the batches an uninterrupted run would have fed.
 */

/** A seeded generator of floats in [0, 1) (mulberry32): the same seed gives the same sequence everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates permutation of 0..n-1 from a seeded generator. */
export function seededPermutation(n: number, seed: number): Int32Array {
  const next = mulberry32(seed);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

/** Epoch-wise shuffled order over `numGroups` groups: slot p of the stream is group order(p). */
export class GroupSchedule {
  private readonly cache = new Map<number, Int32Array>();

  constructor(readonly numGroups: number, readonly seed: number) {
    if (numGroups < 1) throw new RangeError('GroupSchedule: no training groups');
  }

  /** Groups of micro-batch `micro` (each micro-batch takes `perBatch` consecutive stream slots). */
  batch(micro: number, perBatch: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < perBatch; i++) {
      const p = micro * perBatch + i;
      const epoch = Math.floor(p / this.numGroups);
      out.push(this.permutation(epoch)[p % this.numGroups]);
    }
    return out;
  }

  private permutation(epoch: number): Int32Array {
    let perm = this.cache.get(epoch);
    if (!perm) {
      if (this.cache.size > 4) this.cache.clear();
      perm = seededPermutation(this.numGroups, (this.seed * 1000003 + epoch) >>> 0);
      this.cache.set(epoch, perm);
    }
    return perm;
  }
}
