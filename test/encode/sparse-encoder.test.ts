import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { encodeTexts } from '../../lib/retrieval/evaluate-encoder';
import { IdfTable } from '../../lib/idf/idf-table';
import { csrRow, csrRows, validateCsr } from '../../lib/sparse/csr';
import type { Csr } from '../../lib/sparse/csr';
import { sharedData } from '../helpers';
import { hfModelDir, tempDir } from '../model/fixture-dirs';

const DOCS = [
  'Alterations of the architecture of cerebral white matter in the developing human brain.',
  'Protein kinase activity',
  'A randomized trial of vitamin D supplementation in older adults with low bone density and frequent falls.',
  'Short.',
  'Macrophages infiltrate tumours and promote angiogenesis through VEGF signalling in mice.',
  'T cells',
];

function rows(csr: Csr): [number, number][][] {
  return Array.from({ length: csrRows(csr) }, (_, r) => csrRow(csr, r));
}

function assertClose(a: Csr, b: Csr, tol: number): void {
  assert.equal(csrRows(a), csrRows(b));
  for (let r = 0; r < csrRows(a); r++) {
    const x = new Map(csrRow(a, r)); const y = new Map(csrRow(b, r));
    for (const [id, w] of x) assert.ok(Math.abs(w - (y.get(id) ?? 0)) <= tol * Math.max(1, Math.abs(w)) + 1e-6, `row ${r} id ${id}: ${w} vs ${y.get(id)}`);
    for (const [id, w] of y) if (!x.has(id)) assert.ok(w <= 1e-6, `row ${r} id ${id} only on one side (${w})`);
  }
}

describe('encoder: SparseEncoder API', function () {
  const data = sharedData();
  let work: string;
  let encoder: SparseEncoder;
  const idf = IdfTable.fromEntries([['protein', 2.5], ['kinase', 4], ['the', 0.1], ['cells', -1]]);

  before(async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    work = tempDir('encoder-api');
    encoder = await SparseEncoder.load(hfModelDir(data!, 'bert', path.join(work, 'src'), { idf, settings: { activation: 'l0', k: 1 } }));
  });
  after(() => {
    encoder?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('reads activation and max length from the dir', () => {
    assert.equal(encoder.activation, 'l0');
    assert.equal(encoder.k, 1);
    assert.equal(encoder.maxLength, 32); // capped at the fixture's max_position_embeddings
    assert.equal(encoder.vocabSize, 30522);
    assert.equal(encoder.config.architecture, 'bert');
  });

  it('returns rows in input order whatever the batch size (length-sorted batches)', async () => {
    const one = await encoder.encodeDocuments(DOCS, { batchSize: 1, progress: false });
    const four = await encoder.encodeDocuments(DOCS, { batchSize: 4, progress: false });
    validateCsr(one);
    assertClose(one, four, 1e-5);
    const reversed = await encoder.encodeDocuments([...DOCS].reverse(), { batchSize: 4, progress: false });
    assertClose(one, reverseRows(reversed), 1e-5);
    const single = await encoder.encodeDocuments([DOCS[2]], { progress: false });
    assert.deepEqual(rows(single)[0].map(([id]) => id), csrRow(one, 2).map(([id]) => id));
  });

  it('the l0 activation is log1p of the relu activation, entry by entry', async () => {
    const relu = await encoder.encodeDocuments(DOCS.slice(0, 2), { activation: 'relu', progress: false });
    const l0 = await encoder.encodeDocuments(DOCS.slice(0, 2), { activation: 'l0', progress: false });
    for (let r = 0; r < 2; r++) {
      const x = csrRow(relu, r); const y = csrRow(l0, r);
      assert.deepEqual(y.map(([id]) => id), x.map(([id]) => id));
      x.forEach(([, w], j) => assert.ok(Math.abs(y[j][1] - Math.fround(Math.log1p(w))) <= 2e-7 * Math.max(1, y[j][1])));
    }
  });

  it('encodes queries inference-free and decodes vectors to tokens', async () => {
    const q = await encoder.encodeQueries(['Protein kinase in the cells', 'unknownword']);
    assert.deepEqual(encoder.decode(q, 0), [['kinase', 4], ['protein', 2.5], ['in', 1], ['the', Math.fround(0.1)]]);
    assert.deepEqual(encoder.decode(q, 1).map(([t]) => t), ['unknown', '##word']);
    const d = await encoder.encodeDocuments(DOCS.slice(0, 1), { progress: false });
    const top = encoder.decode(d, 0, 5);
    assert.equal(top.length, 5);
    for (let i = 1; i < top.length; i++) assert.ok(top[i - 1][1] >= top[i][1]);
    assert.ok(top.every(([t]) => encoder.tokenizer.tokenToId(t) !== undefined && !t.startsWith('[')));
  });

  it('encodeDocumentRows on the tokenizer\'s rows gives exactly what encodeDocuments gives on the texts', async () => {
    const texts = DOCS.slice(0, 3);
    const rows = await encoder.tokenizer.encodeDocumentIds(texts, encoder.maxLength);
    const fromRows = await encoder.encodeDocumentRows(rows, { progress: false, batchSize: 2 });
    const fromTexts = await encoder.encodeDocuments(texts, { progress: false, batchSize: 2 });
    assert.deepEqual(Array.from(fromRows.indptr), Array.from(fromTexts.indptr));
    assert.deepEqual(Array.from(fromRows.indices), Array.from(fromTexts.indices));
    assert.deepEqual(Array.from(fromRows.values), Array.from(fromTexts.values));
    await assert.rejects(encoder.encodeDocumentRows([rows[0], []]), /row 1 has 0 token ids; each row needs 1\.\.32/);
    await assert.rejects(encoder.encodeDocumentRows([new Array(33).fill(5)]), /row 0 has 33 token ids/);
    await assert.rejects(encoder.encodeDocumentRows([[101, 1e9, 102]], { progress: false }), /outside the vocabulary/);
  });

  it('evaluation (a model in memory, padded batches) encodes as the loaded encoder does one document at a time', async () => {
    const dir = hfModelDir(data!, 'bert', path.join(work, 'eval'), { settings: { activation: 'l0', k: 1 } });
    const model = await NativeMlmModel.load(dir);
    try {
      const texts = [...DOCS, ''];
      const evaluated = await encodeTexts(model, encoder.tokenizer, texts, { activation: 'l0', k: 1, maxLength: 32, batchSize: 4 });
      const alone = await encoder.encodeDocuments(texts, { batchSize: 1, progress: false, allowEmpty: true });
      assertClose(evaluated, alone, 1e-5);
      assert.deepEqual(rows(evaluated).map((r) => r.length), rows(alone).map((r) => r.length));
    } finally {
      model.dispose();
    }
  });

  it('rejects bad input with errors naming the index or the option', async () => {
    await assert.rejects(encoder.encodeDocuments([], { progress: false }), /texts is empty/);
    await assert.rejects(encoder.encodeDocuments(['a', 7 as unknown as string]), /texts\[1\] is not a string \(got number\)/);
    await assert.rejects(encoder.encodeDocuments(['a', ' ']), /texts\[1\] is empty/);
    await assert.rejects(encoder.encodeDocuments(['a'], { maxLength: 64 }), /maxLength must be an integer in \[2, 32\]/);
    await assert.rejects(encoder.encodeDocuments(['a'], { activation: 'gelu' as 'relu' }), /activation must be 'relu' or 'l0'/);
    await assert.rejects(encoder.encodeDocuments(['a'], { k: 5 }), /k must be an integer in 1\.\.3/);
    await assert.rejects(encoder.encodeDocuments(['a'], { batchSize: 0 }), /batchSize must be a positive integer/);
    await assert.rejects(encoder.encodeQueries(['ok', {} as string]), /texts\[1\] is not a string/);
    const empty = await encoder.encodeDocuments([''], { allowEmpty: true, progress: false });
    assert.ok(csrRow(empty, 0).length > 0, 'an empty text is [CLS] [SEP], which the model still expands');
  });

  for (const layout of ['hf', 'sentence-transformers'] as const) {
    it(`saves in the ${layout} layout and loads back with the same vectors`, async () => {
      const dir = path.join(work, `saved-${layout}`);
      await encoder.save(dir, { layout });
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
      const again = await SparseEncoder.load(dir);
      try {
        assert.equal(again.layout, layout);
        assert.equal(again.activation, 'l0');
        assert.equal(again.maxLength, 32);
        assert.deepEqual(rows(await again.encodeDocuments(DOCS, { progress: false })), rows(await encoder.encodeDocuments(DOCS, { progress: false })));
        const queries = ['Protein kinase in the cells', 'vitamin D and falls'];
        assert.deepEqual(rows(await again.encodeQueries(queries)), rows(await encoder.encodeQueries(queries)));
      } finally {
        again.dispose();
      }
    });
  }

  it('refuses to save an l0 activation ST cannot express, and queries without a query side', async () => {
    const dir = hfModelDir(data!, 'distilbert', path.join(work, 'k2'), { settings: { activation: 'l0', k: 2 } });
    const k2 = await SparseEncoder.load(dir);
    try {
      assert.equal(k2.k, 2);
      await assert.rejects(k2.save(path.join(work, 'k2-st'), { layout: 'sentence-transformers' }), /k = 2 has no sentence-transformers SpladePooling equivalent/);
      await assert.rejects(k2.encodeQueries(['x']), /k2 has no query weights/);
      await assert.rejects(encoderWithoutQueries(k2, path.join(work, 'k2-st')), /needs query weights/);
      await assert.rejects(k2.save(path.join(work, 'k2-x'), { layout: 'onnx' as 'hf' }), /layout must be 'hf' or 'sentence-transformers'/);
    } finally {
      k2.dispose();
    }
  });
});

/** Saving as ST needs a query side: an l0 (k = 1) encoder without idf.json must be refused too. */
async function encoderWithoutQueries(source: SparseEncoder, dir: string): Promise<void> {
  const hf = dir + '-hf';
  await source.save(hf, { layout: 'hf' });
  fs.writeFileSync(path.join(hf, 'l0sparse_config.json'), JSON.stringify({ activation: 'l0', k: 1 }));
  const reloaded = await SparseEncoder.load(hf);
  try {
    await reloaded.save(dir, { layout: 'sentence-transformers' });
  } finally {
    reloaded.dispose();
  }
}

function reverseRows(csr: Csr): Csr {
  const n = csrRows(csr);
  const out: [number, number][][] = [];
  for (let r = n - 1; r >= 0; r--) out.push(csrRow(csr, r));
  const indptr = new Int32Array(n + 1);
  out.forEach((row, r) => { indptr[r + 1] = indptr[r] + row.length; });
  return { indptr, indices: Int32Array.from(out.flat().map(([id]) => id)), values: Float32Array.from(out.flat().map(([, w]) => w)), numCols: csr.numCols };
}
