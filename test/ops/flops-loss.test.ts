import { strict as assert } from 'assert';

import { flopsLoss, tensor } from '../../lib';
import { maxAbsDiff, randn, rng } from '../helpers';

// docs/METHOD.md §3 written as loops: per-slot means over Q groups, l0 mask M(d) = [nnz(d) > t] (a constant).
function loops(w: Float64Array, N: number, V: number, G: number, t: number) {
  const Q = N / G;
  const keep = new Float64Array(N); let masked = 0; let nnzSum = 0;
  for (let d = 0; d < N; d++) {
    let nnz = 0;
    for (let j = 0; j < V; j++) if (w[d * V + j] !== 0) nnz++;
    keep[d] = nnz > t ? 1 : 0; masked += 1 - keep[d]; nnzSum += nnz;
  }
  let loss = 0; const grad = new Float64Array(N * V);
  for (let s = 0; s < G; s++) {
    for (let j = 0; j < V; j++) {
      let mean = 0;
      for (let q = 0; q < Q; q++) mean += keep[q * G + s] * Math.abs(w[(q * G + s) * V + j]) / Q;
      loss += mean * mean;
      for (let q = 0; q < Q; q++) {
        const x = w[(q * G + s) * V + j];
        grad[(q * G + s) * V + j] = keep[q * G + s] * 2 * mean * Math.sign(x) / Q;
      }
    }
  }
  return { loss, grad, maskedFraction: masked / N, meanNnz: nnzSum / N };
}

describe('l0-mask FLOPS loss (native)', () => {
  const N = 6; const V = 40;
  const next = rng(11);
  const w = randn(N * V, next);
  // Sparsify rows differently so the threshold splits them: row d keeps about (d+1)/7 of its entries.
  for (let d = 0; d < N; d++) for (let j = 0; j < V; j++) if (next() > (d + 1) / 7) w[d * V + j] = 0;

  for (const [G, t] of [[1, -1], [2, -1], [2, 15], [3, 20], [6, 1000]] as const) {
    it(`matches the formula with groupSize=${G}, threshold=${t}, gradient included`, async () => {
      const r = await flopsLoss({ weights: tensor(w, [N, V]), groupSize: G, threshold: t, grad: true });
      const truth = loops(w, N, V, G, t);
      assert.ok(Math.abs(r.loss - truth.loss) < 1e-12 * Math.max(1, truth.loss));
      assert.ok(Math.abs(r.maskedFraction - truth.maskedFraction) < 1e-12);
      assert.ok(Math.abs(r.meanNnz - truth.meanNnz) < 1e-12);
      assert.ok(maxAbsDiff(r.gradWeights!.data as Float64Array, truth.grad) < 1e-12);
      assert.deepEqual(r.regularized.shape, [N]);
    });
  }

  it('rejects bad input with a clear error', async () => {
    await assert.rejects(flopsLoss({ weights: tensor(w, [N, V]), groupSize: 4 }), /multiple of the group size/);
    await assert.rejects(flopsLoss({ weights: tensor(w, [N * V]) }), /must be \[N,V\]/);
    await assert.rejects(flopsLoss({ weights: tensor(w, [N, V]), threshold: Number.NaN }), /finite number/);
    await assert.rejects(flopsLoss({ weights: tensor(w, [N, V]), groupSize: 0 }), /groupSize/);
  });
});
