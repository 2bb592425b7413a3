import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { DEFAULT_ENCODE_DTYPE, parseEncodeDtype, resolveEncodeDtype } from '../../lib/encode/encode-dtype';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { cpuHasNativeBf16, gemmBackend, setGemmBackend } from '../../lib/native/kernels';
import { csrRow, csrRows } from '../../lib/sparse/csr';
import type { Csr } from '../../lib/sparse/csr';
import { sharedData } from '../helpers';
import { hfModelDir, readExpectation, sciFactTexts, tempDir } from '../model/fixture-dirs';

// The inference kernel choices (issue 20): the float32 GEMM backend must not change the vectors beyond float32
// rounding (checked against sentence-transformers' vectors of the same model, an independent truth), and the
// encode dtype option resolves as documented.

/** Max over rows of (max |a - b| in the row) / (max |a| in the row). */
function worstRowError(a: Csr, b: Csr): number {
  assert.equal(csrRows(a), csrRows(b));
  let worst = 0;
  for (let r = 0; r < csrRows(a); r++) {
    const x = new Map(csrRow(a, r)); const y = new Map(csrRow(b, r));
    let scale = 0; let diff = 0;
    for (const id of new Set([...x.keys(), ...y.keys()])) {
      const u = x.get(id) ?? 0; const v = y.get(id) ?? 0;
      scale = Math.max(scale, Math.abs(u), Math.abs(v));
      diff = Math.max(diff, Math.abs(u - v));
    }
    worst = Math.max(worst, scale > 0 ? diff / scale : 0);
  }
  return worst;
}

describe('encoder: GEMM backend and encode dtype', function () {
  const data = sharedData();
  let work: string;
  let saved: string;

  before(() => { saved = gemmBackend().requested; });
  after(() => {
    if (saved) setGemmBackend(saved as 'auto' | 'mkl' | 'onednn');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('setGemmBackend forces a backend, auto follows the CPU vendor, bad names are errors', () => {
    assert.equal(setGemmBackend('mkl').backend, 'mkl');
    assert.equal(gemmBackend().reason, 'forced');
    const auto = setGemmBackend('auto');
    assert.equal(auto.backend, auto.cpuVendor === 'AuthenticAMD' && auto.onednnAvailable ? 'onednn' : 'mkl', JSON.stringify(auto));
    assert.throws(() => setGemmBackend('blas' as 'mkl'), /'auto', 'mkl' or 'onednn', got 'blas'/);
    assert.throws(() => (setGemmBackend as (x: unknown) => unknown)(3), /'auto', 'mkl' or 'onednn', got '3'/);
  });

  it('mkl and onednn give the same vectors, both matching sentence-transformers on the fixture model', async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    if (!gemmBackend().onednnAvailable) { console.log('    skipped: no oneDNN in this LibTorch'); this.skip(); }
    const exp = readExpectation();
    const texts = await sciFactTexts(data!, exp.documentIds, exp.queryIds);
    work = tempDir('kernels');
    const encoder = await SparseEncoder.load(hfModelDir(data!, 'distilbert', path.join(work, 'hf')));
    try {
      const out: Record<string, Csr> = {};
      for (const backend of ['mkl', 'onednn'] as const) {
        setGemmBackend(backend);
        out[backend] = await encoder.encodeDocuments(texts.docs, { activation: 'relu', zeroSpecialTokens: false, batchSize: 8, progress: false });
        // sentence-transformers' vectors: the top entries and the sum, within the parity test's tolerance.
        exp.documentVectors.distilbert.relu.forEach((want, r) => {
          const row = new Map(csrRow(out[backend], r));
          want.top[0].forEach((id, j) => {
            const got = row.get(id) ?? 0;
            assert.ok(Math.abs(got - want.top[1][j]) <= exp.tolerance.relative * Math.abs(want.top[1][j]) + exp.tolerance.absoluteFloor,
              `${backend} doc ${r} token ${id}: ${got} vs sentence-transformers ${want.top[1][j]}`);
          });
        });
      }
      assert.ok(worstRowError(out.mkl, out.onednn) < 1e-4, `mkl vs onednn: ${worstRowError(out.mkl, out.onednn)}`);
    } finally {
      encoder.dispose();
    }
  });

  it('dtype: parsed and resolved as documented (auto = bfloat16 only on native bf16 or a GPU; env default)', () => {
    assert.equal(DEFAULT_ENCODE_DTYPE, 'float32');
    assert.throws(() => parseEncodeDtype('fp16'), /'auto', 'float32' or 'bfloat16', got "fp16"/);
    assert.equal(resolveEncodeDtype('float32', 'cpu'), 'float32');
    assert.equal(resolveEncodeDtype('bfloat16', 'cpu'), 'bfloat16');
    assert.equal(resolveEncodeDtype('auto', 'cuda:0'), 'bfloat16');
    assert.equal(resolveEncodeDtype('auto', 'cpu'), cpuHasNativeBf16() ? 'bfloat16' : 'float32');
    const before = process.env.L0SPARSE_ENCODE_DTYPE;
    try {
      process.env.L0SPARSE_ENCODE_DTYPE = 'bfloat16';
      assert.equal(resolveEncodeDtype(undefined, 'cpu'), 'bfloat16');
      assert.equal(resolveEncodeDtype('float32', 'cpu'), 'float32'); // the option wins
      process.env.L0SPARSE_ENCODE_DTYPE = 'half';
      assert.throws(() => resolveEncodeDtype(undefined, 'cpu'), /L0SPARSE_ENCODE_DTYPE must be/);
      delete process.env.L0SPARSE_ENCODE_DTYPE;
      assert.equal(resolveEncodeDtype(undefined, 'cpu'), DEFAULT_ENCODE_DTYPE);
    } finally {
      if (before === undefined) delete process.env.L0SPARSE_ENCODE_DTYPE; else process.env.L0SPARSE_ENCODE_DTYPE = before;
    }
  });

  it('encodeDocuments in bfloat16 stays within bfloat16 rounding of float32 and rejects unknown dtypes', async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    work ??= tempDir('kernels');
    const exp = readExpectation();
    const texts = await sciFactTexts(data!, exp.documentIds, exp.queryIds);
    const encoder = await SparseEncoder.load(hfModelDir(data!, 'bert', path.join(work, 'hf-bert')));
    try {
      const opts = { activation: 'relu' as const, zeroSpecialTokens: false, batchSize: 4, progress: false };
      const fp32 = await encoder.encodeDocuments(texts.docs, { ...opts, dtype: 'float32' });
      const bf16 = await encoder.encodeDocuments(texts.docs, { ...opts, dtype: 'bfloat16' });
      const err = worstRowError(fp32, bf16);
      // bf16 keeps 8 bits of mantissa (2^-8 = 0.4%); a few layers of rounding stay within a few percent.
      assert.ok(err > 0 && err < 0.05, `bf16 vs fp32 worst row error ${err}`);
      await assert.rejects(encoder.encodeDocuments(texts.docs, { ...opts, dtype: 'half' as 'float32' }), /'auto', 'float32' or 'bfloat16', got "half"/);
    } finally {
      encoder.dispose();
    }
  });
});
