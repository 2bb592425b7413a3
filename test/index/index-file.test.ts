import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { SparseIndex } from '../../lib/index/sparse-index';
import { type Csr, csrFromRows } from '../../lib/sparse/csr';
import { rng } from '../helpers';
import { bruteForceRanking } from './brute-force';

// Saved indexes (format v2): mapped on load with exact results, and the quantized weights options.
function randomCsr(rows: number, numCols: number, maxNnz: number, next: () => number): Csr {
  const out: Map<number, number>[] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Map<number, number>();
    const n = Math.floor(next() * (maxNnz + 1));
    for (let i = 0; i < n; i++) row.set(Math.min(numCols - 1, Math.floor(numCols * next() ** 2)), 0.01 + 2 * next() * next());
    out.push(row);
  }
  return csrFromRows(out, numCols);
}

describe('SparseIndex files', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-index-file-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const next = rng(23);
  const docs = randomCsr(2500, 400, 40, next);
  const queries = randomCsr(60, 400, 12, next);
  const ids = Array.from({ length: 2500 }, (_, i) => `doc-${i}`);

  async function built(): Promise<SparseIndex> {
    const index = new SparseIndex(400);
    index.add(docs, ids);
    await index.build();
    return index;
  }

  it('maps a saved index and returns the brute-force top-k exactly', async () => {
    const file = path.join(dir, 'exact.l0idx');
    await (await built()).save(file);
    const loaded = await SparseIndex.load(file);
    assert.strictEqual(loaded.stats().mapped, true);
    assert.strictEqual(loaded.stats().weights, 'float32');
    const res = await loaded.search(queries, 10, { threads: 2 });
    for (let q = 0; q < 60; q++) {
      const want = bruteForceRanking(docs, queries, q).slice(0, 10);
      assert.deepStrictEqual([...res.docIndices.slice(q * 10, q * 10 + want.length)], want.map((w) => w.doc), `query ${q}`);
      assert.deepStrictEqual([...res.scores.slice(q * 10, q * 10 + want.length)], want.map((w) => w.score), `query ${q} scores`);
    }
    // Exact weights cost less than the 8 bytes of a plain (u32 doc, f32 weight) posting.
    assert.ok(loaded.stats().postingBytes / loaded.stats().postings < 8, `${loaded.stats().postingBytes / loaded.stats().postings} bytes/posting`);
  });

  it('stores uint8 / uint16 weights smaller, with the brute-force ranking nearly kept', async () => {
    const index = await built();
    const sizes: Record<string, number> = {};
    for (const weights of ['float32', 'uint16', 'uint8'] as const) {
      const file = path.join(dir, `${weights}.l0idx`);
      await index.save(file, { weights });
      sizes[weights] = fs.statSync(file).size;
      const loaded = await SparseIndex.load(file);
      assert.strictEqual(loaded.stats().weights, weights);
      const res = await loaded.search(queries, 10);
      let overlap = 0;
      let total = 0;
      for (let q = 0; q < 60; q++) {
        const want = new Set(bruteForceRanking(docs, queries, q).slice(0, 10).map((w) => w.doc));
        total += want.size;
        for (const d of res.docIndices.slice(q * 10, q * 10 + 10)) overlap += want.has(d) ? 1 : 0;
      }
      // float32 is exact; 16-bit impacts move a score by at most half a step of 1/65535 of the term max,
      // 8-bit by 1/255: near-ties may swap, but most of the top 10 stays (measured on this data: see below).
      const minimum = { float32: 1, uint16: 0.99, uint8: 0.9 }[weights];
      assert.ok(overlap / total >= minimum, `${weights}: top-10 overlap ${overlap / total}`);
      if (weights !== 'float32') {
        loaded.stats();
        assert.throws(() => loaded.add(csrFromRows([[[0, 1]]], 400), ['new']), /quantized/);
        await assert.rejects(loaded.save(path.join(dir, 'back.l0idx'), { weights: 'float32' }), /can only be saved as they are/);
      }
    }
    assert.ok(sizes.uint8 < sizes.uint16 && sizes.uint16 < sizes.float32, JSON.stringify(sizes));
  });

  it('rejects bad save options', async () => {
    const index = await built();
    await assert.rejects(index.save(path.join(dir, 'x.l0idx'), { weights: 'int4' as never }), /weights must be/);
    await assert.rejects(index.save(path.join(dir, 'x.l0idx'), { scale: 'row' as never }), /scale must be/);
  });
});
