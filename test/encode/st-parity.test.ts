import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { QueryEncoder } from '../../lib/query/query-encoder';
import { csrRow, csrRows, validateCsr } from '../../lib/sparse/csr';
import type { Csr } from '../../lib/sparse/csr';
import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';
import { sharedData } from '../helpers';
import {
  Arch, FIXTURES, StExpectation, hfModelDir, readExpectation, sciFactIdf, sciFactTexts, stModelDir, tempDir,
} from '../model/fixture-dirs';

// Independent truth: sentence-transformers 6.0.1 encode_document / encode_query on the same tiny MLMs,
// tokenizer and a Python-computed SciFact IDF (scripts/fixtures/make_st_fixtures.py → expected.json).

type DocSummary = StExpectation['documentVectors']['bert']['relu'][number];

/** Checks one of our rows against ST's recorded summary; returns the worst relative error of entries > 1e-3. */
function compareRow(csr: Csr, r: number, want: DocSummary, exp: StExpectation, where: string): number {
  const dense = new Float64Array(csr.numCols);
  for (const [id, w] of csrRow(csr, r)) dense[id] = w;
  const { relative, absoluteFloor } = exp.tolerance;
  let worst = 0;
  const check = (id: number, expected: number) => {
    const got = dense[id];
    const diff = Math.abs(got - expected);
    assert.ok(diff <= relative * Math.max(Math.abs(got), Math.abs(expected)) + absoluteFloor,
      `${where}: token id ${id} is ${got}, sentence-transformers gives ${expected}`);
    // Expected values are float32 written as short decimals: compare with their float32 to see the real gap.
    if (Math.abs(expected) > 1e-3) worst = Math.max(worst, Math.abs(got - Math.fround(expected)) / Math.abs(expected));
  };
  want.top[0].forEach((id, j) => check(id, want.top[1][j]));
  want.probes.forEach((v, j) => check(j * exp.probeStride, v));
  let sum = 0; let sumSquares = 0; let nnz = 0;
  for (const w of dense) { sum += w; sumSquares += w * w; if (w !== 0) nnz++; }
  assert.ok(Math.abs(sum - want.sum) <= relative * Math.abs(want.sum), `${where}: sum ${sum} vs ${want.sum}`);
  assert.ok(Math.abs(sumSquares - want.sumSquares) <= relative * want.sumSquares, `${where}: sum of squares ${sumSquares} vs ${want.sumSquares}`);
  // Entries whose logit lies within float noise of 0 may be kept by one side and dropped by the other.
  assert.ok(Math.abs(nnz - want.nnz) <= 3, `${where}: ${nnz} nonzeros vs ${want.nnz}`);
  return worst;
}

function assertQueriesEqual(csr: Csr, exp: StExpectation): void {
  validateCsr(csr);
  assert.equal(csrRows(csr), exp.queryVectors.length);
  exp.queryVectors.forEach(([ids, values], r) => {
    const row = csrRow(csr, r);
    assert.deepEqual(row.map(([id]) => id), ids, `query ${exp.queryIds[r]}: token ids`);
    // Exact: both sides are the float32 rounding of the same float64 IDF.
    assert.deepEqual(row.map(([, w]) => w), values.map((v) => Math.fround(v)), `query ${exp.queryIds[r]}: weights`);
  });
}

describe('encoder: parity with sentence-transformers 6.0.1', function () {
  const data = sharedData();
  let exp: StExpectation;
  let texts: { docs: string[]; queries: string[] };
  let work: string;
  const worst: Record<string, number> = {};

  before(async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    if (!fs.existsSync(path.join(FIXTURES, 'st', 'expected.json'))) { console.log('    skipped: test/fixtures/st/expected.json is absent'); this.skip(); }
    exp = readExpectation();
    texts = await sciFactTexts(data!, exp.documentIds, exp.queryIds);
    work = tempDir('st-parity');
  });
  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (Object.keys(worst).length > 0) console.log(`    worst relative error of entries > 1e-3: ${JSON.stringify(worst)}`);
  });

  it('our SciFact IDF equals the one computed in Python (HF tokenizers + math.log1p)', async () => {
    const idf = await sciFactIdf(data!);
    assert.equal(idf.size, exp.idf.size);
    const sample = Object.entries(exp.idf.sample);
    assert.ok(sample.length > 150);
    for (const [token, weight] of sample) {
      const ours = idf.get(token);
      assert.ok(ours !== undefined && Math.abs(ours - weight) <= 1e-15 * weight, `${token}: ${ours} vs ${weight}`);
    }
  });

  it('query vectors from our SciFact IDF equal ST SparseStaticEmbedding exactly', async () => {
    const tokenizer = TextTokenizer.fromFile(path.join(data!, 'bert-base-uncased', 'tokenizer.json'));
    const encoder = QueryEncoder.fromIdf(tokenizer, await sciFactIdf(data!));
    assertQueriesEqual(await encoder.encode(texts.queries), exp);
  });

  for (const arch of ['bert', 'distilbert'] as Arch[]) {
    it(`${arch}, HF layout: documents match ST (relu and l0), queries exactly`, async () => {
      const dir = hfModelDir(data!, arch, path.join(work, `hf-${arch}`), { idf: await sciFactIdf(data!) });
      const encoder = await SparseEncoder.load(dir);
      try {
        assert.equal(encoder.layout, 'hf');
        assert.equal(encoder.maxLength, exp.maxLength[arch]);
        for (const activation of ['relu', 'l0'] as const) {
          const csr = await encoder.encodeDocuments(texts.docs, { activation, zeroSpecialTokens: false, batchSize: 8, progress: false });
          validateCsr(csr);
          let w = 0;
          exp.documentVectors[arch][activation].forEach((want, r) => {
            w = Math.max(w, compareRow(csr, r, want, exp, `${arch}/${activation} doc ${exp.documentIds[r]}`));
          });
          worst[`${arch}/${activation}`] = w;
        }
        assertQueriesEqual(await encoder.encodeQueries(texts.queries), exp);
      } finally {
        encoder.dispose();
      }
    });

    it(`${arch}, sentence-transformers layout: activation read from SpladePooling, vectors match ST`, async () => {
      const tokenizer = TextTokenizer.fromFile(path.join(data!, 'bert-base-uncased', 'tokenizer.json'));
      // ST stores the query weights as a dense vector; from_json leaves tokens outside idf.json at 0.
      const weights = (await sciFactIdf(data!)).toVector(tokenizer, 0);
      for (const [activation, stName] of [['relu', 'relu'], ['l0', 'log1p_relu']] as const) {
        const dir = stModelDir(data!, arch, stName, weights, path.join(work, `st-${arch}-${activation}`));
        const encoder = await SparseEncoder.load(dir);
        try {
          assert.equal(encoder.layout, 'sentence-transformers');
          assert.equal(encoder.activation, activation);
          const csr = await encoder.encodeDocuments(texts.docs, { zeroSpecialTokens: false, progress: false });
          exp.documentVectors[arch][activation].forEach((want, r) => compareRow(csr, r, want, exp, `ST ${arch}/${activation} doc ${r}`));
          assertQueriesEqual(await encoder.encodeQueries(texts.queries), exp);
        } finally {
          encoder.dispose();
        }
      }
    });
  }

  it('zeroSpecialTokens (default) removes exactly the special token ids and leaves the rest', async () => {
    const dir = hfModelDir(data!, 'bert', path.join(work, 'hf-specials'));
    const encoder = await SparseEncoder.load(dir);
    try {
      const kept = await encoder.encodeDocuments(texts.docs.slice(0, 4), { zeroSpecialTokens: false, progress: false });
      const zeroed = await encoder.encodeDocuments(texts.docs.slice(0, 4), { progress: false });
      const specials = new Set(encoder.tokenizer.specialTokenIds);
      for (let r = 0; r < 4; r++) {
        const expected = csrRow(kept, r).filter(([id]) => !specials.has(id));
        assert.ok(csrRow(kept, r).length > expected.length, 'the random model gives special tokens weight');
        assert.deepEqual(csrRow(zeroed, r), expected);
      }
    } finally {
      encoder.dispose();
    }
  });

  it('records that sentence-transformers loads the dirs l0sparse saves (scripts/fixtures/make_st_fixtures.py --check-saved)', function () {
    const file = path.join(FIXTURES, 'st', 'saved-dirs.json');
    if (!fs.existsSync(file)) { console.log('    skipped: saved-dirs.json not generated'); this.skip(); }
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { results: { arch: string; activation: string; layout: string; sourceTokenizer: string; loaded: boolean; queriesEqual?: boolean; documents?: { outOfTolerance: number }; error?: string }[] };
    assert.equal(record.results.length, 10); // 2 archs × 2 activations × 2 layouts + the vocab.txt source in 2 layouts
    for (const r of record.results) {
      const what = `${r.arch}/${r.activation}/${r.layout} (from ${r.sourceTokenizer})`;
      assert.ok(r.loaded, `${what} did not load in sentence-transformers: ${r.error}`);
      assert.ok(r.queriesEqual, `${what}: query vectors differ`);
      assert.equal(r.documents!.outOfTolerance, 0, `${what}: document entries out of tolerance`);
    }
  });
});
