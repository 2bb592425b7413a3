import * as assert from 'assert';

import { type Csr, csrFromRows } from '../../lib/sparse/csr';
import { checkPruneSpec, parsePruneSpec, pruneCsr, type PruneSpec, type PruneType } from '../../lib/sparse/prune';
import { rng } from '../helpers';

const f = Math.fround;

/** A straightforward reading of the four definitions (float arithmetic like OpenSearch's PruneUtils). */
function pruneRowReference(entries: [number, number][], spec: PruneSpec): [number, number][] {
  const byWeight = [...entries].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  let keep: [number, number][];
  switch (spec.type) {
    case 'top_k': keep = byWeight.slice(0, spec.value); break;
    case 'max_ratio': {
      const cut = f(f(spec.value) * Math.max(...entries.map((e) => e[1])));
      keep = entries.filter((e) => e[1] >= cut);
      break;
    }
    case 'abs_value': keep = entries.filter((e) => e[1] >= f(spec.value)); break;
    case 'alpha_mass': {
      const budget = f(f(spec.value) * f(entries.reduce((s, e) => s + e[1], 0)));
      let running = 0;
      keep = [];
      for (const e of byWeight) {
        running = f(running + e[1]);
        if (running > budget) break;
        keep.push(e);
      }
      break;
    }
  }
  return keep.sort((a, b) => a[0] - b[0]);
}

function rows(csr: Csr): [number, number][][] {
  const out: [number, number][][] = [];
  for (let r = 0; r + 1 < csr.indptr.length; r++) {
    const row: [number, number][] = [];
    for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) row.push([csr.indices[j], csr.values[j]]);
    out.push(row);
  }
  return out;
}

describe('pruneCsr', () => {
  // Weights 0.5, 2, 1, 2, 0.25 at columns 3, 5, 8, 11, 20: total 5.75, max 2.
  const hand = csrFromRows([[[3, 0.5], [5, 2], [8, 1], [11, 2], [20, 0.25]]], 21);

  it('follows the definitions on a hand-computed row', async () => {
    const cols = async (spec: PruneSpec) => rows(await pruneCsr(hand, spec))[0].map((e) => e[0]);
    assert.deepStrictEqual(await cols({ type: 'top_k', value: 1 }), [5]);          // tie 2.0 at 5 and 11: smaller column
    assert.deepStrictEqual(await cols({ type: 'top_k', value: 3 }), [5, 8, 11]);
    assert.deepStrictEqual(await cols({ type: 'max_ratio', value: 0.5 }), [5, 8, 11]);  // w >= 1
    assert.deepStrictEqual(await cols({ type: 'alpha_mass', value: 0.7 }), [5, 11]);  // running 2, 4 <= 4.025 < 5
    assert.deepStrictEqual(await cols({ type: 'abs_value', value: 0.5 }), [3, 5, 8, 11]);
    // A running sum equal to the budget is kept: 0.5, 4, 1, 2, 2.5 (total 10) at alpha 0.65 keeps 4 + 2.5 = 6.5.
    const exact = csrFromRows([[[1, 0.5], [2, 4], [3, 1], [4, 2], [5, 2.5]]], 6);
    assert.deepStrictEqual(rows(await pruneCsr(exact, { type: 'alpha_mass', value: 0.65 }))[0].map((e) => e[0]), [2, 5]);
    assert.deepStrictEqual(rows(await pruneCsr(exact, { type: 'alpha_mass', value: 0.3 }))[0], []);  // 4 > 3
  });

  it('equals the reference definitions on random rows with ties', async () => {
    const next = rng(9);
    const data: Map<number, number>[] = [];
    for (let r = 0; r < 300; r++) {
      const row = new Map<number, number>();
      const n = Math.floor(next() * 40);
      for (let i = 0; i < n; i++) row.set(Math.floor(next() * 500), next() < 0.5 ? 1 + Math.floor(next() * 4) / 4 : 0.01 + 3 * next());
      data.push(row);
    }
    const csr = csrFromRows(data, 500);
    const specs: PruneSpec[] = [
      { type: 'top_k', value: 1 }, { type: 'top_k', value: 7 }, { type: 'max_ratio', value: 0.3 }, { type: 'max_ratio', value: 0.75 },
      { type: 'alpha_mass', value: 0.5 }, { type: 'alpha_mass', value: 0.9 }, { type: 'abs_value', value: 0.8 }, { type: 'abs_value', value: 1.25 },
    ];
    for (const spec of specs) {
      const got = rows(await pruneCsr(csr, spec));
      const want = rows(csr).map((row) => pruneRowReference(row, spec));
      assert.deepStrictEqual(got, want, JSON.stringify(spec));
    }
  });

  it('equals the reference at cut points: coarse (tied) and fine weights over many values', async () => {
    const cases: [PruneType, number[]][] = [
      ['top_k', [1, 7, 50]], ['max_ratio', [0, 0.1, 0.3, 0.999]], ['alpha_mass', [0, 0.1, 0.6, 0.95]], ['abs_value', [0, 0.8, 1.7]],
    ];
    for (const coarse of [true, false]) {
      const next = rng(coarse ? 17 : 29);
      const data: Map<number, number>[] = [];
      for (let r = 0; r < 300; r++) {
        const row = new Map<number, number>();
        const n = Math.floor(next() * 60);
        // Coarse weights make ties frequent (the tie rule); fine ones probe float32 rounding at the cuts.
        for (let i = 0; i < n; i++) row.set(Math.floor(next() * 500), coarse ? Math.max(0.125, Math.round(next() * 16) / 8) : 1e-3 + next() * 3);
        data.push(row);
      }
      const csr = csrFromRows(data, 500);
      for (const [type, values] of cases) {
        for (const value of values) {
          const spec = { type, value };
          assert.deepStrictEqual(rows(await pruneCsr(csr, spec)), rows(csr).map((row) => pruneRowReference(row, spec)), `${JSON.stringify(spec)} coarse=${coarse}`);
        }
      }
    }
  });

  it('rejects bad specs and weights', async () => {
    await assert.rejects(pruneCsr(hand, { type: 'top_k', value: 0 }), /positive integer/);
    await assert.rejects(pruneCsr(hand, { type: 'max_ratio', value: 1 }), /\[0, 1\)/);
    await assert.rejects(pruneCsr(hand, { type: 'abs_value', value: -2 }), />= 0/);
    await assert.rejects(pruneCsr(hand, { type: 'nope' as 'top_k', value: 1 }), /unknown prune type/);
    // checkPruneSpec applies the same native rules without data (exporters call it before opening input).
    await assert.rejects(checkPruneSpec({ type: 'top_k', value: 1.5 }), RangeError);
    await assert.rejects(checkPruneSpec({ type: 'alpha_mass', value: 1 }), /\[0, 1\)/);
    await checkPruneSpec({ type: 'alpha_mass', value: 0.99 });
    await assert.rejects(pruneCsr(csrFromRows([[[1, 0]]], 3), { type: 'top_k', value: 1 }), /finite and > 0/);
    assert.deepStrictEqual(parsePruneSpec('alpha_mass:0.9'), { type: 'alpha_mass', value: 0.9 });
    assert.throws(() => parsePruneSpec('top:3'), /must look like/);
  });
});
