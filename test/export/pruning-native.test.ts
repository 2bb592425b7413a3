/**
 * The TS pruning (lib/export/pruning.ts) and the native pruneCsr (native/index/prune.cc) implement the
 * same OpenSearch definitions; when the addon with pruneCsr is loadable, they must keep the same entries.
 */
import * as assert from 'assert';

import { pruneVector, type PruneType } from '../../lib/export/pruning';
import { loadNative } from '../../lib/native/loader';
import { type Csr, csrFromRows } from '../../lib/sparse/csr';
import { rng } from '../helpers';

type PruneCsr = (csr: Csr, type: string, value: number) => Promise<Csr>;

describe('export: TS pruning agrees with the native pruneCsr', () => {
  let pruneCsr: PruneCsr | null = null;
  before(function () {
    try {
      pruneCsr = (loadNative() as unknown as { pruneCsr?: PruneCsr }).pruneCsr ?? null;
    } catch (e) {
      // eslint-disable-next-line no-console
      console.log(`    skipped: native addon not loadable here (${(e as Error).message.split('\n')[0]})`);
      this.skip();
    }
    if (!pruneCsr) {
      // eslint-disable-next-line no-console
      console.log('    skipped: this addon build has no pruneCsr');
      this.skip();
    }
  });

  const cases: [PruneType, number[]][] = [
    ['top_k', [1, 7, 50]], ['max_ratio', [0, 0.1, 0.3, 0.999]], ['alpha_mass', [0, 0.1, 0.6, 0.95]], ['abs_value', [0, 0.8, 1.7]],
  ];
  for (const [type, ratios] of cases) {
    it(`${type} ${ratios.join(', ')}, coarse (tied) and fine weights`, async () => {
      for (const coarse of [true, false]) {
        const next = rng(coarse ? 17 : 29);
        const rows: [number, number][][] = [];
        for (let r = 0; r < 300; r++) {
          const row = new Map<number, number>();
          const n = Math.floor(next() * 60);
          // Coarse weights make ties frequent (the tie rule); fine ones probe float32 rounding at the cuts.
          for (let i = 0; i < n; i++) row.set(Math.floor(next() * 500), coarse ? Math.max(0.125, Math.round(next() * 16) / 8) : 1e-3 + next() * 3);
          rows.push([...row.entries()]);
        }
        const csr = csrFromRows(rows, 500);
        for (const ratio of ratios) {
          const native = await pruneCsr!(csr, type, ratio);
          for (let r = 0; r < rows.length; r++) {
            const idx = [...csr.indices.subarray(csr.indptr[r], csr.indptr[r + 1])];
            const val = [...csr.values.subarray(csr.indptr[r], csr.indptr[r + 1])];
            const ts = pruneVector(idx, val, { type, ratio });
            assert.deepStrictEqual(ts.indices, [...native.indices.subarray(native.indptr[r], native.indptr[r + 1])], `${type} ${ratio} row ${r}`);
          }
        }
      }
    });
  }
});
