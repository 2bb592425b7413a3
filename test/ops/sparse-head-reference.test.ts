import { strict as assert } from 'assert';

import { sparseHeadReference, tensor } from '../../lib';
import { maxAbsDiff, randn, rng } from '../helpers';

// Independent truth: forward and backward of w = f(max_i m_i (h_i.W_v + b_v)) written as loops here.
function loops(H: Float64Array, W: Float64Array, bias: Float64Array, mask: Float64Array, g: Float64Array,
  B: number, L: number, D: number, V: number, k: number) {
  const w = new Float64Array(B * V);
  const dH = new Float64Array(B * L * D);
  const dW = new Float64Array(V * D);
  const db = new Float64Array(V);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < V; v++) {
      let best = -Infinity; let arg = 0;
      for (let i = 0; i < L; i++) {
        let z = bias[v];
        for (let d = 0; d < D; d++) z += H[(b * L + i) * D + d] * W[v * D + d];
        z *= mask[b * L + i];
        if (z > best) { best = z; arg = i; }
      }
      if (best <= 0) continue;
      let y = Math.log1p(best); let deriv = 1 / (1 + best);
      for (let j = 0; j < k; j++) { deriv /= 1 + y; y = Math.log1p(y); }
      w[b * V + v] = y;
      const gz = g[b * V + v] * deriv * mask[b * L + arg];
      db[v] += gz;
      for (let d = 0; d < D; d++) {
        dW[v * D + d] += gz * H[(b * L + arg) * D + d];
        dH[(b * L + arg) * D + d] += gz * W[v * D + d];
      }
    }
  }
  return { w, dH, dW, db };
}

describe('sparse head reference (native, composed LibTorch ops)', () => {
  const B = 3; const L = 4; const D = 5; const V = 11;
  const next = rng(42);
  const H = randn(B * L * D, next); const W = randn(V * D, next, 0.5); const bias = randn(V, next, 0.1);
  const mask = new Float64Array(B * L).fill(1);
  mask[1 * L + 3] = 0; mask[1 * L + 2] = 0; // padded tail of doc 1
  const g = randn(B * V, next);

  for (const [activation, k] of [['relu', 0], ['l0', 1], ['l0', 2], ['l0', 3]] as const) {
    it(`forward and every gradient equal hand loops (${activation}, k=${k}) in float64`, async () => {
      const r = await sparseHeadReference({
        hidden: tensor(H, [B, L, D]), weight: tensor(W, [V, D]), bias: tensor(bias, [V]), mask: tensor(mask, [B, L]),
        activation, k: activation === 'l0' ? k : undefined, gradOutput: tensor(g, [B, V]),
      });
      const ref = loops(H, W, bias, mask, g, B, L, D, V, k);
      assert.deepEqual(r.weights.shape, [B, V]);
      assert.ok(maxAbsDiff(r.weights.data as Float64Array, ref.w) < 1e-12);
      assert.ok(maxAbsDiff(r.gradHidden!.data as Float64Array, ref.dH) < 1e-12);
      assert.ok(maxAbsDiff(r.gradWeight!.data as Float64Array, ref.dW) < 1e-12);
      assert.ok(maxAbsDiff(r.gradBias!.data as Float64Array, ref.db) < 1e-12);
    });
  }

  it('works in float32 within float tolerance', async () => {
    const r = await sparseHeadReference({
      hidden: tensor(Float32Array.from(H), [B, L, D]), weight: tensor(Float32Array.from(W), [V, D]),
      bias: tensor(Float32Array.from(bias), [V]), mask: tensor(Float32Array.from(mask), [B, L]), activation: 'l0',
    });
    assert.ok(r.weights.data instanceof Float32Array);
    assert.ok(maxAbsDiff(r.weights.data as Float32Array, loops(H, W, bias, mask, g, B, L, D, V, 1).w) < 1e-5);
  });

  it('rejects bad input with a clear error instead of crashing', async () => {
    const base = { hidden: tensor(H, [B, L, D]), weight: tensor(W, [V, D]), bias: tensor(bias, [V]), mask: tensor(mask, [B, L]) };
    await assert.rejects(sparseHeadReference({ ...base, bias: tensor(bias.subarray(0, 5), [5]) }), /bias has 5 entries/);
    await assert.rejects(sparseHeadReference({ ...base, hidden: { data: H, shape: [B, L, D + 1] } }), /does not match data length/);
    await assert.rejects(sparseHeadReference({ ...base, hidden: { data: [1, 2] as unknown as Float64Array, shape: [2] } }), /TypedArray/);
    await assert.rejects(sparseHeadReference({ ...base, activation: 'gelu' as 'relu' }), /'relu' or 'l0'/);
    await assert.rejects(sparseHeadReference({ ...base, k: 7 }), /'k' must be an integer in \[1, 3\]/);
    await assert.rejects(sparseHeadReference({ ...base, weight: tensor(Float32Array.from(W), [V, D]) }), /share a dtype/);
  });
});
