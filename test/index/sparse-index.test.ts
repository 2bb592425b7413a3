import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { sliceCsrRows } from '../../lib/index/shards';
import { SparseIndex } from '../../lib/index/sparse-index';
import { type Csr, csrFromRows } from '../../lib/sparse/csr';
import { rng, sharedData } from '../helpers';
import { bruteForceRanking } from './brute-force';

function randomCsr(rows: number, numCols: number, maxNnz: number, next: () => number, integerWeights: boolean): Csr {
  const out: Map<number, number>[] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Map<number, number>();
    const n = Math.floor(next() * (maxNnz + 1));
    for (let i = 0; i < n; i++) {
      const col = Math.min(numCols - 1, Math.floor(numCols * next() ** 2));  // skewed: long and short lists
      row.set(col, integerWeights ? 1 + Math.floor(next() * 3) : 0.01 + 2 * next() * next());
    }
    out.push(row);
  }
  return csrFromRows(out, numCols);
}

async function expectBruteForce(index: SparseIndex, docs: Csr, queries: Csr, ids: string[], k: number, threads: number): Promise<void> {
  for (const algorithm of ['maxscore', 'exhaustive', 'auto'] as const) await expectBruteForceWith(index, docs, queries, ids, k, threads, algorithm);
}

async function expectBruteForceWith(index: SparseIndex, docs: Csr, queries: Csr, ids: string[], k: number, threads: number,
  algorithm: 'maxscore' | 'exhaustive' | 'auto'): Promise<void> {
  const res = await index.search(queries, k, { threads, algorithm });
  const got = res.ids();
  for (let q = 0; q + 1 < queries.indptr.length; q++) {
    const want = bruteForceRanking(docs, queries, q).slice(0, k);
    for (let i = 0; i < k; i++) {
      const at = q * k + i;
      if (i < want.length) {
        assert.strictEqual(res.docIndices[at], want[i].doc, `${algorithm}: query ${q} rank ${i}`);
        assert.strictEqual(res.scores[at], want[i].score, `${algorithm}: query ${q} rank ${i} score`);
      } else {
        assert.strictEqual(res.docIndices[at], -1);
        assert.strictEqual(res.scores[at], -Infinity);
      }
    }
    assert.deepStrictEqual(got[q], want.map((w) => ids[w.doc]));
  }
}

describe('SparseIndex', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-index-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('equals brute-force dot products, ties included (integer weights), on 1 and 2 threads', async () => {
    const next = rng(42);
    const docs = randomCsr(1500, 120, 25, next, true);
    const queries = randomCsr(30, 120, 6, next, true);
    const ids = Array.from({ length: 1500 }, (_, i) => `d${i}`);
    const index = new SparseIndex(120);
    index.add(docs, ids);
    await index.build();
    await expectBruteForce(index, docs, queries, ids, 10, 1);
    await expectBruteForce(index, docs, queries, ids, 50, 2);
  });

  it('equals brute force with real-valued weights added in several batches', async () => {
    const next = rng(7);
    const docs = randomCsr(1200, 300, 40, next, false);
    const queries = randomCsr(25, 300, 12, next, false);
    const ids = Array.from({ length: 1200 }, (_, i) => `doc-${i}`);
    const index = new SparseIndex(300);
    for (let start = 0; start < 1200; start += 500) {
      const end = Math.min(1200, start + 500);
      const base = docs.indptr[start];
      index.add({
        indptr: docs.indptr.slice(start, end + 1).map((v) => v - base),
        indices: docs.indices.slice(base, docs.indptr[end]),
        values: docs.values.slice(base, docs.indptr[end]),
        numCols: 300,
      }, ids.slice(start, end));
      if (start === 0) await index.build();
    }
    assert.strictEqual(index.stats().pendingDocs, 700);
    await index.build();
    assert.deepStrictEqual({ ...index.stats(), bytes: 0 }, {
      numCols: 300, docs: 1200, pendingDocs: 0, terms: index.stats().terms, postings: docs.indices.length,
      blocks: index.stats().blocks, bytes: 0, postingBytes: index.stats().postingBytes, mapped: false, weights: 'float32',
    });
    await expectBruteForce(index, docs, queries, ids, 10, 2);
  });

  it('matches brute force on real vectors (term-frequency vectors of SciFact abstracts)', async function () {
    const data = sharedData();
    if (!data) this.skip();
    const lines = fs.readFileSync(path.join(data!, 'scifact', 'corpus.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 800);
    const vocab = new Map<string, number>();
    const rows: Map<number, number>[] = [];
    const ids: string[] = [];
    for (const line of lines) {
      const doc = JSON.parse(line) as { _id: string; title: string; text: string };
      const row = new Map<number, number>();
      for (const w of `${doc.title} ${doc.text}`.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
        if (!vocab.has(w)) vocab.set(w, vocab.size);
        const c = vocab.get(w)!;
        row.set(c, (row.get(c) ?? 0) + 1);
      }
      for (const [c, tf] of row) row.set(c, Math.log1p(tf));  // sublinear tf: real-valued, still many ties
      rows.push(row);
      ids.push(doc._id);
    }
    const docs = csrFromRows(rows, vocab.size);
    const queryRows = fs.readFileSync(path.join(data!, 'scifact', 'queries.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 40)
      .map((l) => {
        const row = new Map<number, number>();
        for (const w of (JSON.parse(l) as { text: string }).text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
          const c = vocab.get(w);
          if (c !== undefined) row.set(c, 1 / (1 + Math.log1p(c)));
        }
        return row;
      });
    const queries = csrFromRows(queryRows, vocab.size);
    const index = new SparseIndex(vocab.size);
    index.add(docs, ids);
    await index.build();
    await expectBruteForce(index, docs, queries, ids, 10, 2);
  });

  it('writes into preallocated outputs', async () => {
    const index = new SparseIndex(3);
    index.add(csrFromRows([[[0, 1], [2, 2]], [[1, 3]], [[0, 2], [1, 1]]], 3), ['a', 'b', 'c']);
    await index.build();
    const out = { docIndices: new Int32Array(4), scores: new Float32Array(4) };
    const res = await index.search(csrFromRows([[[0, 1], [1, 2]]], 3), 4, { out });
    assert.strictEqual(res.docIndices, out.docIndices);
    assert.deepStrictEqual([...out.docIndices], [1, 2, 0, -1]);  // hand-computed: b 6, c 4, a 1
    assert.deepStrictEqual([...out.scores], [6, 4, 1, -Infinity]);
    assert.deepStrictEqual(res.ids(), [['b', 'c', 'a']]);
    await assert.rejects(index.search(csrFromRows([[[0, 1]]], 3), 4, { out: { docIndices: new Int32Array(3), scores: new Float32Array(4) } }),
      /must hold queries x k = 4/);
  });

  it('saves and loads atomically; the loaded index gives the same results', async () => {
    const next = rng(3);
    const docs = randomCsr(300, 50, 10, next, false);
    const ids = Array.from({ length: 300 }, (_, i) => `id/${i}/é`);
    const index = new SparseIndex(50);
    index.add(docs, ids);
    await index.build();
    const file = path.join(dir, 'a.l0idx');
    await index.save(file);
    assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.startsWith('a.l0idx')), ['a.l0idx']);
    const loaded = await SparseIndex.load(file);
    assert.strictEqual(loaded.numCols, 50);
    const queries = randomCsr(10, 50, 5, next, false);
    const a = await index.search(queries, 7);
    const b = await loaded.search(queries, 7);
    assert.deepStrictEqual(b.docIndices, a.docIndices);
    assert.deepStrictEqual(b.scores, a.scores);
    assert.deepStrictEqual(b.ids(), a.ids());
  });

  it('opens lazily by default and fully on request, with the same results; a bad verify mode is refused', async () => {
    const next = rng(31);
    const docs = randomCsr(400, 40, 12, next, false);
    const ids = Array.from({ length: 400 }, (_, i) => `d${i}`);
    const index = new SparseIndex(40);
    index.add(docs, ids);
    await index.build();
    const file = path.join(dir, 'lazy.l0idx');
    await index.save(file);
    const queries = randomCsr(12, 40, 6, next, false);
    const lazy = await SparseIndex.load(file);
    const full = await SparseIndex.load(file, { verify: 'full' });
    await expectBruteForce(lazy, docs, queries, ids, 10, 2);
    const a = await lazy.search(queries, 10);
    const b = await full.search(queries, 10);
    assert.deepStrictEqual(a.docIndices, b.docIndices);
    assert.deepStrictEqual(a.scores, b.scores);
    await assert.rejects(SparseIndex.load(file, { verify: 'some' as 'full' }), /verify must be 'lazy' or 'full'/);
  });

  it('folds batches into compressed postings while documents stream in: pending until build(), then searchable', async () => {
    const next = rng(32);
    const docs = randomCsr(600, 30, 10, next, true);
    const ids = Array.from({ length: 600 }, (_, i) => `s${i}`);
    const index = new SparseIndex(30);
    for (let r = 0; r < 600; r += 50) index.add(sliceCsrRows(docs, r, r + 50), ids.slice(r, r + 50));
    assert.strictEqual(index.stats().pendingDocs, 600);
    assert.strictEqual(index.stats().docs, 0);
    await index.build();
    assert.strictEqual(index.stats().pendingDocs, 0);
    await expectBruteForce(index, docs, randomCsr(10, 30, 5, next, true), ids, 7, 1);
  });

  it('rejects corrupt and foreign files with clear errors', async () => {
    const index = new SparseIndex(10);
    index.add(csrFromRows([[[1, 1]], [[2, 0.5], [3, 1]]], 10), ['x', 'y']);
    await index.build();
    const file = path.join(dir, 'c.l0idx');
    await index.save(file);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    await assert.rejects(SparseIndex.load(file), /truncated/);
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 20] ^= 0xff;
    fs.writeFileSync(file, flipped);
    await assert.rejects(SparseIndex.load(file), /corrupt index file/);
    fs.writeFileSync(file, 'hello world, not an index at all: padding padding padding padding');
    await assert.rejects(SparseIndex.load(file), /not an l0sparse index/);
    await assert.rejects(SparseIndex.load(path.join(dir, 'missing.l0idx')), /cannot open/);
  });

  it('runs concurrent searches with equal results, and build() after them adds documents', async () => {
    const next = rng(11);
    const docs = randomCsr(2000, 100, 30, next, false);
    const ids = Array.from({ length: 2000 }, (_, i) => `c${i}`);
    const index = new SparseIndex(100);
    index.add(docs, ids);
    await index.build();
    const queries = randomCsr(200, 100, 10, next, false);
    const expected = await index.search(queries, 10, { threads: 1 });
    const searches = Array.from({ length: 6 }, (_, i) => index.search(queries, 10, { threads: 1 + (i % 2) }));
    for (const r of await Promise.all(searches)) {
      assert.deepStrictEqual(r.docIndices, expected.docIndices);
      assert.deepStrictEqual(r.scores, expected.scores);
    }
    index.add(csrFromRows([[[1, 1000]]], 100), ['late']);
    await index.build();
    assert.deepStrictEqual((await index.search(csrFromRows([[[1, 1]]], 100), 1)).ids(), [['late']]);
  });

  it('turns bad arguments into errors, never a crash', async () => {
    assert.throws(() => new SparseIndex(0), /numCols/);
    const index = new SparseIndex(5);
    const good = csrFromRows([[[1, 1]]], 5);
    assert.throws(() => index.add(good, ['a', 'b']), /2 ids for 1 rows/);
    assert.throws(() => index.add(good, ['']), /empty id/);
    assert.throws(() => index.add({ ...good, indices: new Int32Array([7]) }, ['a']), /outside \[0, 5\)/);
    assert.throws(() => index.add({ ...good, values: new Float32Array([-1]) }, ['a']), />= 0/);
    assert.throws(() => index.add({ ...good, values: new Float64Array([1]) as unknown as Float32Array }, ['a']), /Float32Array/);
    assert.throws(() => index.add({ ...good, indptr: new Int32Array([0, 5]) }, ['a']), /exceeds/);
    assert.throws(() => index.add(good, [1 as unknown as string]), /must be a string/);
    index.add(good, ['a']);
    assert.throws(() => index.add(good, ['a']), /duplicate document id 'a'/);
    await assert.rejects(index.search(good, 3), /call build\(\) first/);
    await index.build();
    await assert.rejects(index.search(good, 0), /k must be an integer/);
    await assert.rejects(index.search(csrFromRows([[[1, 1]]], 6), 3), /numCols 6/);
    await assert.rejects(index.search(good, 2, { threads: 0 }), /threads/);
    await assert.rejects(index.search(good, 2, { algorithm: 'wand' as 'auto' }), /algorithm must be/);
    await assert.rejects(index.save(''), /non-empty string/);
    await assert.rejects(index.save(path.join(dir, 'no', 'such', 'dir', 'x')), /cannot create/);
    assert.throws(() => index.idsAt(new Int32Array([9])), /outside/);
  });
});
