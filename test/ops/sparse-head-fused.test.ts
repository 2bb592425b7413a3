import { strict as assert } from 'assert';

import { sparseHead, sparseHeadReference, tensor } from '../../lib';
import { maxAbsDiff, randn, rng } from '../helpers';

describe('fused sparse head (native, tiled kernel + argmax-only backward)', () => {
  // V = 301: not a multiple of the vocab tile. Doc 1 has a padded tail, doc 2 is fully masked.
  const B = 3; const L = 5; const D = 6; const V = 301;
  const next = rng(7);
  const H = randn(B * L * D, next); const W = randn(V * D, next, 0.5); const bias = randn(V, next, 0.1);
  const mask = new Float64Array(B * L).fill(1);
  mask[1 * L + 3] = 0; mask[1 * L + 4] = 0;
  for (let i = 0; i < L; i++) mask[2 * L + i] = 0;
  const g = randn(B * V, next);
  const args = { hidden: tensor(H, [B, L, D]), weight: tensor(W, [V, D]), bias: tensor(bias, [V]), mask: tensor(mask, [B, L]) };

  for (const [activation, k] of [['relu', 0], ['l0', 1], ['l0', 3]] as const) {
    it(`equals the composed reference, forward and every gradient (${activation}, k=${k}), float64`, async () => {
      const opts = { ...args, activation, k: activation === 'l0' ? k : undefined, gradOutput: tensor(g, [B, V]) };
      const [fused, ref] = await Promise.all([sparseHead(opts), sparseHeadReference(opts)]);
      assert.deepEqual(fused.weights.shape, [B, V]);
      assert.ok(maxAbsDiff(fused.weights.data as Float64Array, ref.weights.data as Float64Array) < 1e-12);
      assert.ok(maxAbsDiff(fused.gradHidden!.data as Float64Array, ref.gradHidden!.data as Float64Array) < 1e-12);
      assert.ok(maxAbsDiff(fused.gradWeight!.data as Float64Array, ref.gradWeight!.data as Float64Array) < 1e-12);
      assert.ok(maxAbsDiff(fused.gradBias!.data as Float64Array, ref.gradBias!.data as Float64Array) < 1e-12);
      const doc2 = (fused.weights.data as Float64Array).subarray(2 * V, 3 * V);
      assert.ok(doc2.every((x) => x === 0), 'a fully masked document has no weights');
    });
  }

  it('keeps the input dtype: float32 within float tolerance, bfloat16 comes back as bfloat16', async () => {
    const f32 = {
      hidden: tensor(Float32Array.from(H), [B, L, D]), weight: tensor(Float32Array.from(W), [V, D]),
      bias: tensor(Float32Array.from(bias), [V]), mask: tensor(Float32Array.from(mask), [B, L]),
    };
    const [fused, ref] = await Promise.all([sparseHead(f32), sparseHeadReference({ ...args })]);
    assert.ok(fused.weights.data instanceof Float32Array);
    assert.ok(maxAbsDiff(fused.weights.data as Float32Array, ref.weights.data as Float64Array) < 1e-5);
    const toBf16 = (x: Float64Array) => Uint16Array.from(Float32Array.from(x), (_, i) =>
      new Uint32Array(Float32Array.of(x[i]).buffer)[0] >>> 16);
    const bf = await sparseHead({
      hidden: tensor(toBf16(H), [B, L, D], 'bfloat16'), weight: tensor(toBf16(W), [V, D], 'bfloat16'),
      bias: tensor(toBf16(bias), [V], 'bfloat16'), mask: tensor(mask, [B, L]),
    });
    assert.equal(bf.weights.dtype, 'bfloat16');
    assert.deepEqual(bf.weights.shape, [B, V]);
  });

  it('rejects bad input with a clear error instead of crashing', async () => {
    await assert.rejects(sparseHead({ ...args, weight: tensor(W.subarray(0, 5 * V), [V, 5]) }), /hidden size D = 6/);
    await assert.rejects(sparseHead({ ...args, mask: tensor(mask.subarray(0, 10), [2, 5]) }), /mask is/);
    await assert.rejects(sparseHead({ ...args, gradOutput: tensor(g.subarray(0, V), [1, V]) }), /gradOutput must be \[B,V\]/);
    await assert.rejects(sparseHead({ ...args, k: 4 }), /'k' must be an integer in \[1, 3\]/);
    await assert.rejects(sparseHead({ ...args, hidden: tensor(Int32Array.from(H), [B, L, D]) }), /floating point|share a dtype/);
  });
});
