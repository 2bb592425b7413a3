import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { shardDevice } from '../../lib/encode/sharded-encode';
import { NativeMlmModel } from '../../lib/model/native-model';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { checkDeviceName, cudaDeviceCount } from '../../lib/native/device';
import { loadNative } from '../../lib/native/loader';
import { sharedData } from '../helpers';
import { FIXTURES, hfModelDir, tempDir } from '../model/fixture-dirs';

// The device option on a machine without a GPU (CI has none): 'cpu' spelled out is the default bit for bit, CUDA
// is a clear error naming the fix, malformed names are rejected. The CUDA path itself is checked by
// scripts/gpu-check.sh on a machine with a GPU.

const MODEL = path.join(FIXTURES, 'models', 'distilbert');
const CLI = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');
const IDS = Int32Array.from([101, 2000, 2001, 102, 101, 2002, 102, 0]);
const MASK = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]);
const BERT_CONFIG = { model_type: 'bert', vocab_size: 40, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
  intermediate_size: 16, max_position_embeddings: 8 };

/** The message a CUDA device gets here, by build: the CPU variant, or a CUDA variant on a GPU-less machine. */
function cudaUnavailable(): RegExp {
  return loadNative().buildInfo().cuda ? /no CUDA GPU is usable.*device 'cpu'/ : /CPU variant.*L0SPARSE_VARIANT=cuda.*NVIDIA GPU/;
}

describe('encoder: device option (CPU machine)', () => {
  const gpu = loadNative().buildInfo().cudaAvailable;

  it('an explicit cpu device is the default, bit for bit, and is reported', async () => {
    const plain = await NativeMlmModel.load(MODEL);
    const cpu = await NativeMlmModel.load(MODEL, { device: 'cpu' });
    try {
      assert.equal(plain.device, 'cpu');
      assert.equal(cpu.device, 'cpu');
      const opts = { activation: 'l0' as const, k: 1 };
      const a = await plain.encodeDense(IDS, MASK, 2, 4, opts);
      const b = await cpu.encodeDense(IDS, MASK, 2, 4, opts);
      assert.deepEqual(b.data as Float32Array, a.data as Float32Array);
      assert.deepEqual(await cpu.encode(IDS, MASK, 2, 4, opts), await plain.encode(IDS, MASK, 2, 4, opts));
    } finally {
      plain.dispose();
      cpu.dispose();
    }
    const created = await NativeMlmModel.create(BERT_CONFIG, { seed: 5, device: 'cpu' });
    const createdPlain = await NativeMlmModel.create(BERT_CONFIG, { seed: 5 });
    try {
      assert.equal(created.device, 'cpu');
      const ids = Int32Array.from([2, 17, 33, 39]), mask = Int32Array.from([1, 1, 1, 1]);
      const x = await created.encodeDense(ids, mask, 1, 4, { activation: 'relu' });
      const y = await createdPlain.encodeDense(ids, mask, 1, 4, { activation: 'relu' });
      assert.deepEqual(x.data as Float32Array, y.data as Float32Array);
    } finally {
      created.dispose();
      createdPlain.dispose();
    }
  });

  it("'cuda' and 'cuda:0' without a GPU reject with the reason and the fix (no crash)", async function () {
    if (gpu) this.skip();
    assert.equal(cudaDeviceCount(), 0);
    for (const device of ['cuda', 'cuda:0', 'cuda:1']) {
      await assert.rejects(NativeMlmModel.load(MODEL, { device }), (e: Error) => {
        assert.match(e.message, new RegExp(`device '${device}'`));
        assert.match(e.message, cudaUnavailable());
        return true;
      });
      await assert.rejects(NativeMlmModel.create(BERT_CONFIG, { device }), cudaUnavailable());
    }
  });

  it('malformed devices reject with the accepted forms', async () => {
    for (const device of ['gpu', 'GPU', 'CUDA', 'cpu:0', 'mps', '']) {
      await assert.rejects(NativeMlmModel.load(MODEL, { device }), /unknown device .*'cpu', 'cuda' or 'cuda:N'/);
    }
    for (const device of ['cuda:-1', 'cuda:x', 'cuda:1.5', 'cuda:']) {
      await assert.rejects(NativeMlmModel.load(MODEL, { device }), /CUDA device index must be a non-negative integer/);
    }
    for (const device of [42, true, {}, null]) {
      await assert.rejects(NativeMlmModel.load(MODEL, { device: device as unknown as string }), /option 'device' must be a string/);
      await assert.rejects(NativeMlmModel.create(BERT_CONFIG, { device: device as unknown as string }), /option 'device' must be a string/);
    }
  });

  it('checkDeviceName (config and CLI checks) accepts the same forms', () => {
    for (const ok of ['cpu', 'cuda', 'cuda:0', 'cuda:15']) assert.equal(checkDeviceName(ok), ok);
    for (const bad of ['gpu', 'cuda:-1', 'cuda:x', 'cpu:0', ' cuda', '']) assert.throws(() => checkDeviceName(bad, '--device'), /--device '.*' is not a device name: expected 'cpu', 'cuda' or 'cuda:N'/);
    for (const bad of [42, undefined, null, ['cpu']]) assert.throws(() => checkDeviceName(bad), TypeError);
  });

  it('sharded encoding spreads the ranks of a machine over its GPUs', () => {
    assert.equal(shardDevice('cuda', 0, 4), 'cuda:0');
    assert.equal(shardDevice('cuda', 5, 4), 'cuda:1');
    assert.equal(shardDevice('cuda', 3, 1), 'cuda:0');
    assert.equal(shardDevice('cuda:2', 1, 4), 'cuda:2');  // an explicit index is kept
    assert.equal(shardDevice('cpu', 1, 4), 'cpu');
    assert.equal(shardDevice(undefined, 1, 4), undefined);
    assert.equal(shardDevice('cuda', 1, 0), 'cuda');  // no GPU: left for the addon to explain
  });

  describe('SparseEncoder', () => {
    const data = sharedData();
    let work = '';
    before(function () {
      if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
      work = tempDir('encoder-device');
    });
    after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

    it("SparseEncoder.load(dir, { device: 'cpu' }) encodes like the default; cuda rejects", async function () {
      const dir = hfModelDir(data!, 'bert', path.join(work, 'm'));
      const plain = await SparseEncoder.load(dir);
      const cpu = await SparseEncoder.load(dir, { device: 'cpu' });
      try {
        assert.equal(cpu.device, 'cpu');
        assert.equal(plain.device, 'cpu');
        const texts = ['Protein kinase activity', 'T cells infiltrate tumours'];
        assert.deepEqual(await cpu.encodeDocuments(texts, { progress: false }), await plain.encodeDocuments(texts, { progress: false }));
      } finally {
        plain.dispose();
        cpu.dispose();
      }
      if (!gpu) await assert.rejects(SparseEncoder.load(dir, { device: 'cuda' }), cudaUnavailable());
    });

    it("the encode CLI takes --device: cpu encodes, cuda fails with the reason and writes nothing", function () {
      this.timeout(120000);
      const dir = hfModelDir(data!, 'bert', path.join(work, 'cli'));
      const corpus = path.join(work, 'corpus.jsonl');
      fs.writeFileSync(corpus, '{"_id": "a", "title": "", "text": "protein kinase"}\n{"_id": "b", "title": "T", "text": "cells"}\n');
      const run = (device: string, out: string) => spawnSync(process.execPath, [CLI, 'encode', '--model', dir, '--data', corpus,
        '--out', path.join(work, out), '--device', device, '--no-progress', '--json'], { encoding: 'utf8', timeout: 100000 });
      const ok = run('cpu', 'cpu.csr');
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { docs: number }).docs, 2);
      if (gpu) return;
      const bad = run('cuda', 'cuda.csr');
      assert.notEqual(bad.status, 0);
      assert.equal(bad.signal, null);
      assert.match(bad.stderr, cudaUnavailable());
      assert.ok(!fs.existsSync(path.join(work, 'cuda.csr')));
    });
  });
});
