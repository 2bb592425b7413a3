import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import { csrRow, validateCsr } from '../../lib/sparse/csr';

// Fixtures from scripts/fixtures/make_model_fixtures.py: tiny random BERT / DistilBERT (vocab 30522) saved by
// transformers, with transformers' own document vectors for fixed padded id sequences.
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'models');

interface DocSummary {
  top_indices: number[]; top_values: number[]; probe_values: number[]; nnz: number; sum: number; sum_squares: number;
}
interface Expected {
  input_ids: number[][]; attention_mask: number[][]; vocab_size: number; probe_indices: number[];
  activations: Record<'relu' | 'l0', DocSummary[]>;
  native_save_roundtrip: { checked: boolean; ok?: boolean; max_abs_logit_diff?: number; why?: string };
}

function readExpected(arch: string): Expected {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, arch, 'expected.json'), 'utf8')) as Expected;
}

function flatBatch(e: Expected) {
  const batchSize = e.input_ids.length;
  const seqLen = e.input_ids[0].length;
  return {
    ids: Int32Array.from(e.input_ids.flat()), mask: Int32Array.from(e.attention_mask.flat()), batchSize, seqLen,
  };
}

function close(actual: number, expected: number, rel: number, what: string): void {
  const tol = rel * Math.max(Math.abs(expected), 1e-3);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs transformers ${expected} (tol ${tol})`);
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-model-test-'));
}

for (const arch of ['bert', 'distilbert'] as const) {
  describe(`NativeMlmModel (${arch})`, () => {
    let model: NativeMlmModel;
    const expected = readExpected(arch);
    before(async () => { model = await NativeMlmModel.load(path.join(FIXTURES, arch)); });
    after(() => model?.dispose());

    it('reads the config', () => {
      assert.equal(model.config.architecture, arch);
      assert.equal(model.config.vocabSize, 30522);
      assert.equal(model.config.hiddenSize, 16);
      assert.equal(model.config.numLayers, 2);
      assert.equal(model.config.numHeads, 2);
      assert.equal(model.config.intermediateSize, 32);
      assert.equal(model.config.maxPositions, 32);
      assert.equal(model.config.typeVocabSize, arch === 'bert' ? 2 : 0);
      assert.equal(model.config.raw.model_type, arch);
    });

    for (const activation of ['relu', 'l0'] as const) {
      it(`doc vectors equal transformers' (${activation}) to 1e-4 relative`, async () => {
        const { ids, mask, batchSize, seqLen } = flatBatch(expected);
        const csr = await model.encode(ids, mask, batchSize, seqLen, { activation });
        validateCsr(csr);
        assert.equal(csr.numCols, 30522);
        expected.activations[activation].forEach((doc, b) => {
          const row = new Map(csrRow(csr, b));
          doc.top_indices.forEach((v, j) => close(row.get(v) ?? 0, doc.top_values[j], 1e-4, `doc ${b} id ${v}`));
          expected.probe_indices.forEach((v, j) => close(row.get(v) ?? 0, doc.probe_values[j], 1e-4, `doc ${b} probe ${v}`));
          let sum = 0; let squares = 0;
          for (const w of row.values()) { sum += w; squares += w * w; }
          close(sum, doc.sum, 1e-4, `doc ${b} sum`);
          close(squares, doc.sum_squares, 1e-4, `doc ${b} sum of squares`);
          // Weights within float rounding of 0 may land on either side; allow a handful.
          assert.ok(Math.abs(row.size - doc.nnz) <= 3, `doc ${b} nnz ${row.size} vs ${doc.nnz}`);
        });
      });
    }

    it('zeroes the requested token ids', async () => {
      const { ids, mask, batchSize, seqLen } = flatBatch(expected);
      const zero = Int32Array.from([0, 101, 102, 103]);
      const csr = await model.encode(ids, mask, batchSize, seqLen, { activation: 'l0', zeroTokenIds: zero });
      const dense = await model.encodeDense(ids, mask, batchSize, seqLen, { activation: 'l0' });
      for (let b = 0; b < batchSize; b++) {
        const row = new Map(csrRow(csr, b));
        for (const z of zero) assert.equal(row.has(z), false);
        assert.equal(row.get(2054) ?? 0, (dense.data as Float32Array)[b * 30522 + 2054]);
      }
    });

    it('bfloat16 autocast stays close to float32', async () => {
      const { ids, mask, batchSize, seqLen } = flatBatch(expected);
      const f = await model.encodeDense(ids, mask, batchSize, seqLen, { activation: 'relu' });
      const h = await model.encodeDense(ids, mask, batchSize, seqLen, { activation: 'relu', dtype: 'bfloat16' });
      let worst = 0;
      const a = f.data as Float32Array; const c = h.data as Float32Array;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - c[i]));
      assert.ok(worst < 0.05, `bf16 max abs diff ${worst}`);
    });

    it('saves a directory that reloads to identical vectors', async () => {
      const dir = tempDir();
      try {
        await model.save(path.join(dir, 'saved'));
        assert.deepEqual(fs.readdirSync(path.join(dir, 'saved')).sort(), ['config.json', 'model.safetensors']);
        const again = await NativeMlmModel.load(path.join(dir, 'saved'));
        const { ids, mask, batchSize, seqLen } = flatBatch(expected);
        const a = await model.encode(ids, mask, batchSize, seqLen, { activation: 'l0' });
        const b = await again.encode(ids, mask, batchSize, seqLen, { activation: 'l0' });
        assert.deepEqual(b.indptr, a.indptr);
        assert.deepEqual(b.indices, a.indices);
        assert.deepEqual(b.values, a.values);
        assert.deepEqual(again.config.raw, model.config.raw);
        // config.raw crosses N-API as a plain object (no JSON string), equal to the config.json it saves.
        assert.equal(Object.getPrototypeOf(model.config.raw), Object.prototype);
        assert.deepStrictEqual(model.config.raw, JSON.parse(fs.readFileSync(path.join(dir, 'saved', 'config.json'), 'utf8')));
        again.dispose();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('has been saved by l0sparse and reloaded by transformers with the same logits (fixture script record)', () => {
      const record = expected.native_save_roundtrip;
      assert.equal(record.checked, true, `run make_model_fixtures.py --check-native (${record.why ?? ''})`);
      assert.equal(record.ok, true);
      assert.ok((record.max_abs_logit_diff ?? 1) <= 1e-5);
    });

    it('rejects bad inputs with clear errors', async () => {
      const opts = { activation: 'relu' as const };
      await assert.rejects(model.encode(Int32Array.from([101, 30522]), Int32Array.from([1, 1]), 1, 2, opts),
        /input_ids\[0\]\[1\] = 30522 is outside the vocabulary/);
      await assert.rejects(model.encode(Int32Array.from([101, -1]), Int32Array.from([1, 1]), 1, 2, opts), /outside the vocabulary/);
      await assert.rejects(model.encode(Int32Array.from([101, 102, 0]), Int32Array.from([1, 1]), 1, 3, opts),
        /attentionMask has 2 entries, expected batchSize \* seqLen = 3/);
      await assert.rejects(model.encode(new Int32Array(33), new Int32Array(33), 1, 33, opts), /exceeds the model's maxPositions 32/);
      await assert.rejects(model.encode(new Int32Array(0), new Int32Array(0), 0, 1, opts), /batchSize must be an integer >= 1/);
      await assert.rejects(model.encode(new Int32Array(2), new Int32Array(2), 1, 2, { activation: 'l0', k: 9 }), /'k' must be an integer in \[1, 3\]/);
      await assert.rejects(model.encode(new Int32Array(2), new Int32Array(2), 1, 2, { activation: 'l0', zeroTokenIds: Int32Array.from([30522]) }),
        /zeroTokenIds\[0\] = 30522/);
      await assert.rejects(model.encode(new Float32Array(2) as unknown as Int32Array, new Int32Array(2), 1, 2, opts), /inputIds must be an Int32Array/);
    });
  });
}

describe('NativeMlmModel errors', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir(); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function copyFixture(arch: string): string {
    const target = path.join(dir, arch);
    fs.mkdirSync(target);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURES, arch, f), path.join(target, f));
    return target;
  }

  it('names missing directories and files', async () => {
    await assert.rejects(NativeMlmModel.load(path.join(dir, 'nope')), /nope: not a directory/);
    await assert.rejects(NativeMlmModel.load(dir), /no config\.json/);
    const m = copyFixture('bert');
    fs.rmSync(path.join(m, 'model.safetensors'));
    await assert.rejects(NativeMlmModel.load(m), /no model\.safetensors or model\.safetensors\.index\.json/);
  });

  it('rejects an unknown architecture', async () => {
    const m = copyFixture('bert');
    const cfg = JSON.parse(fs.readFileSync(path.join(m, 'config.json'), 'utf8'));
    cfg.model_type = 'roberta';
    fs.writeFileSync(path.join(m, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(NativeMlmModel.load(m), /config\.json: model_type "roberta" is not supported/);
  });

  it('rejects a config whose vocabulary differs from the decoder rows', async () => {
    const m = copyFixture('distilbert');
    const cfg = JSON.parse(fs.readFileSync(path.join(m, 'config.json'), 'utf8'));
    cfg.vocab_size = 30000;
    fs.writeFileSync(path.join(m, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(NativeMlmModel.load(m),
      /vocab_size = 30000 but distilbert\.embeddings\.word_embeddings\.weight \(the tied MLM decoder\) has 30522 rows/);
  });

  it('rejects inconsistent layer shapes and counts', async () => {
    const m = copyFixture('bert');
    const cfg = JSON.parse(fs.readFileSync(path.join(m, 'config.json'), 'utf8'));
    cfg.num_hidden_layers = 3;
    fs.writeFileSync(path.join(m, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(NativeMlmModel.load(m), /missing tensors for a bert masked LM: bert\.encoder\.layer\.2\./);
    cfg.num_hidden_layers = 1;
    fs.writeFileSync(path.join(m, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(NativeMlmModel.load(m), /unexpected tensors .*bert\.encoder\.layer\.1\./);
  });

  it('rejects a truncated or lying safetensors file', async () => {
    const m = copyFixture('distilbert');
    const file = path.join(m, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(NativeMlmModel.load(m), /model\.safetensors: tensor '.*' data_offsets .* go beyond the data buffer/);
    const lying = Buffer.from(bytes);
    lying.writeBigUInt64LE(1n << 55n, 0);
    fs.writeFileSync(file, lying);
    await assert.rejects(NativeMlmModel.load(m), /header length 36028797018963968 goes beyond the file/);
  });

  it('rejects a config.json that is not JSON, naming the file and position', async () => {
    const m = copyFixture('bert');
    fs.writeFileSync(path.join(m, 'config.json'), '{"model_type": "bert",,}');
    await assert.rejects(NativeMlmModel.load(m), /config\.json: invalid JSON at byte \d+/);
  });

  it('refuses to save over a file', async () => {
    const model = await NativeMlmModel.load(path.join(FIXTURES, 'distilbert'));
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    await assert.rejects(model.save(path.join(dir, 'file')), /file: (cannot create directory|exists but is not a directory)/);
    model.dispose();
  });

  it('creates a seeded random model that saves and reloads', async () => {
    const config = {
      model_type: 'distilbert', vocab_size: 120, dim: 8, n_layers: 1, n_heads: 2, hidden_dim: 16,
      max_position_embeddings: 16, sinusoidal_pos_embds: true,
    };
    const a = await NativeMlmModel.create(config, { seed: 5 });
    const b = await NativeMlmModel.create(config, { seed: 5 });
    const ids = Int32Array.from([101, 7, 9, 102, 101, 11, 102, 0]);
    const mask = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]);
    const wa = await a.encode(ids, mask, 2, 4, { activation: 'relu' });
    assert.deepEqual((await b.encode(ids, mask, 2, 4, { activation: 'relu' })).values, wa.values);
    assert.ok(wa.values.length > 0);
    await a.save(path.join(dir, 'fresh'));
    const c = await NativeMlmModel.load(path.join(dir, 'fresh'));
    assert.deepEqual((await c.encode(ids, mask, 2, 4, { activation: 'relu' })).values, wa.values);
    assert.equal(c.config.raw.sinusoidal_pos_embds, true);
    for (const m of [a, b, c]) m.dispose();
    await assert.rejects(NativeMlmModel.create({ ...config, model_type: 'gpt2' }), /model_type "gpt2" is not supported/);
  });

  it('rejects use after dispose', async () => {
    const model = await NativeMlmModel.load(path.join(FIXTURES, 'bert'));
    model.dispose();
    await assert.rejects(model.encode(new Int32Array(1), new Int32Array(1), 1, 1, { activation: 'relu' }), /disposed/);
    await assert.rejects(model.save(path.join(dir, 'x')), /disposed/);
  });
});
