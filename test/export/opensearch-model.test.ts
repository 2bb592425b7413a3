import * as assert from 'assert';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from 'zlib';

import { exportOpenSearchModel, URL_PLACEHOLDER, validateIdf, validateSafetensors } from '../../lib/export/opensearch-model';
import { buildZip, readZip } from '../../lib/export/zip';

/** A tiny but well-formed safetensors file: one F32 tensor of 2 values. */
function safetensors(): Buffer {
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, Buffer.from(new Float32Array([1, 2]).buffer)]);
}

function modelDir(extra: Record<string, string | Buffer> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-model-'));
  const files: Record<string, string | Buffer> = {
    'config.json': JSON.stringify({ model_type: 'distilbert', vocab_size: 4 }),
    'model.safetensors': safetensors(),
    'tokenizer.json': JSON.stringify({ model: { type: 'WordPiece', vocab: { '[PAD]': 0, hello: 1 } } }),
    'idf.json': JSON.stringify({ hello: 2.5, '.': 0.5 }),
    ...extra,
  };
  for (const [f, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), data);
  return dir;
}

describe('export: ZIP writer', () => {
  it('computes the standard CRC-32 check value', () => {
    assert.strictEqual(crc32(Buffer.from('123456789')), 0xcbf43926);
  });
  it('round-trips entries and is byte-for-byte reproducible', () => {
    const entries = [{ name: 'a.json', data: Buffer.from('{"x":1}') }, { name: 'dir/b.bin', data: Buffer.alloc(10000, 7) }];
    const zip = buildZip(entries);
    assert.deepStrictEqual(readZip(zip).map((e) => [e.name, e.data.toString('hex')]), entries.map((e) => [e.name, e.data.toString('hex')]));
    assert.ok(buildZip(entries).equals(zip));
  });
});

describe('export: ZIP interoperability', () => {
  it('is accepted by an independent reader (Python zipfile: CRCs, names, sizes)', function () {
    const probe = spawnSync('python3', ['-c', 'import zipfile'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      // eslint-disable-next-line no-console
      console.log('    skipped: python3 not available');
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-zip-'));
    const file = path.join(dir, 'a.zip');
    fs.writeFileSync(file, buildZip([{ name: 'tokenizer.json', data: Buffer.from('{"a":1}') }, { name: 'idf.json', data: Buffer.alloc(5000, 65) }]));
    const r = spawnSync('python3', ['-c', [
      'import sys, zipfile, json',
      'z = zipfile.ZipFile(sys.argv[1])',
      'assert z.testzip() is None',
      'print(json.dumps([[i.filename, i.file_size, len(z.read(i.filename))] for i in z.infolist()]))',
    ].join('\n'), file], { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout), [['tokenizer.json', 7, 7], ['idf.json', 5000, 5000]]);
  });
});

describe('export: OpenSearch ML Commons model directory', () => {
  it('writes the HF dir, a SPARSE_TOKENIZE zip and its register body with size and SHA-256', () => {
    const src = modelDir();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-out-'));
    const rep = exportOpenSearchModel(src, out, { name: 'my-l0', baseUrl: 'https://example.org/models/' });
    assert.deepStrictEqual(fs.readdirSync(path.join(out, 'hf')).sort(), ['config.json', 'idf.json', 'model.safetensors', 'tokenizer.json']);
    const zipBytes = fs.readFileSync(path.join(out, 'sparse-tokenizer.zip'));
    assert.deepStrictEqual(readZip(zipBytes).map((e) => e.name), ['tokenizer.json', 'idf.json']);
    assert.deepStrictEqual(JSON.parse(readZip(zipBytes)[1].data.toString()), { hello: 2.5, '.': 0.5 });
    const body = JSON.parse(fs.readFileSync(path.join(out, 'register-sparse-tokenizer.json'), 'utf8'));
    // Fields as in the ML Commons register API / opensearch-py-ml's config for SPARSE_TOKENIZE models.
    assert.deepStrictEqual(body, {
      name: 'my-l0-tokenizer', version: '1.0.0', description: 'l0sparse inference-free sparse model my-l0 (query tokenizer with idf weights)',
      model_format: 'TORCH_SCRIPT', function_name: 'SPARSE_TOKENIZE',
      model_content_size_in_bytes: zipBytes.length,
      model_content_hash_value: createHash('sha256').update(zipBytes).digest('hex'),
      url: 'https://example.org/models/sparse-tokenizer.zip',
    });
    assert.ok('skipped' in rep.encoder && /TorchScript/.test(rep.encoder.skipped));
    assert.ok(!fs.existsSync(path.join(out, 'sparse-encoding.zip')));
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).hfFiles, rep.hfFiles);
    // ml-commons defaults: allow_registering_model_via_url false, only_run_on_ml_node true (no eligible node without ML nodes).
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'cluster-settings.json'), 'utf8')), {
      persistent: { 'plugins.ml_commons.allow_registering_model_via_url': true, 'plugins.ml_commons.only_run_on_ml_node': false },
    });
    assert.strictEqual(rep.clusterSettings.file, path.join(out, 'cluster-settings.json'));
  });

  it('takes idf weights in (0, 64] as float32 and refuses others, naming the token, the value and the fix', () => {
    const idf = (o: Record<string, number>) => { const d = modelDir({ 'idf.json': JSON.stringify(o) }); return path.join(d, 'idf.json'); };
    assert.strictEqual(validateIdf(idf({ a: 64, b: 1e-30, c: 64.000001 })), 3); // 64.000001 is 64 as a float32
    assert.throws(() => validateIdf(idf({ a: 2, big: 64.0001 })),
      /the weight of "big" is 64\.0001; .*\(0, 64\]\. Fix: divide every weight by 1\.0000015625 \(largest weight \/ 64\): rankings stay the same/);
    assert.throws(() => validateIdf(idf({ a: 2, zero: 0 })), /the weight of "zero" is 0; .*Fix: give tokens at or below 0 a small positive weight such as 1e-6/);
    assert.throws(() => validateIdf(idf({ tiny: 1e-50 })), /"tiny" is 1e-50/); // 0 as a float32
    const both = () => validateIdf(idf({ neg: -1, big: 128 }));
    assert.throws(both, /the weight of "neg" is -1 \(and 1 more tokens are out of range\).*divide every weight by 2 .*; give tokens at or below 0/);
    // The export refuses before writing anything.
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-out-')), 'os-model');
    assert.throws(() => exportOpenSearchModel(modelDir({ 'idf.json': '{"hello": 100}' }), out), /"hello" is 100/);
    assert.ok(!fs.existsSync(out));
  });

  it('packs a traced model.pt into a SPARSE_ENCODING zip when the source has one', () => {
    const src = modelDir({ 'model.pt': Buffer.from('not really torchscript, only packed') });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-out-'));
    exportOpenSearchModel(src, out);
    const body = JSON.parse(fs.readFileSync(path.join(out, 'register-sparse-encoding.json'), 'utf8'));
    assert.strictEqual(body.function_name, 'SPARSE_ENCODING');
    assert.strictEqual(body.model_format, 'TORCH_SCRIPT');
    assert.ok(body.url.startsWith(URL_PLACEHOLDER));
    assert.deepStrictEqual(readZip(fs.readFileSync(path.join(out, 'sparse-encoding.zip'))).map((e) => e.name), ['model.pt', 'tokenizer.json']);
  });

  it('refuses incomplete or corrupt model directories, naming the problem', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-out-'));
    const noIdf = modelDir();
    fs.rmSync(path.join(noIdf, 'idf.json'));
    assert.throws(() => exportOpenSearchModel(noIdf, out), /missing idf\.json/);
    assert.throws(() => exportOpenSearchModel(modelDir({ 'idf.json': '{"a": "x"}' }), out), /not a finite number/);
    const truncated = modelDir({ 'model.safetensors': safetensors().subarray(0, 30) });
    assert.throws(() => validateSafetensors(path.join(truncated, 'model.safetensors')), /safetensors|header|bytes/);
    assert.throws(() => exportOpenSearchModel(truncated, out));
    assert.throws(() => exportOpenSearchModel(modelDir({ 'config.json': '{}' }), out), /model_type/);
  });
});
