#!/usr/bin/env node
'use strict';
// Device check through the addon's JS API (scripts/gpu-check.sh runs it with the CUDA addon on a GPU machine):
// the tiny fixture models of test/fixtures/models loaded with { device } against the same models on the CPU.
//   encode  NativeMlmModel.load(dir, { device }) reports the device; CSR vectors of a few documents equal the
//           CPU's within 1e-4 (relative to the largest weight)
//   train   NativeTrainer, 3 steps with dropout 0, on a model created with the same seed on both devices: losses
//           within 1e-4; parameter updates (final - initial, read back from the saved safetensors) within 1e-2
//           relative (Adam normalises each gradient: comparing updates, not parameters, keeps the test sharp)
// One PASS/FAIL line per check; exit 0 when all pass. `--device cpu` compares the CPU with itself (everything must
// be exact): it exercises this script where there is no GPU.
// Usage: node scripts/device-check.js [--device cuda] [--models test/fixtures/models]
//   (needs `npm run build:ts`; L0SPARSE_ADDON picks the addon, e.g. the CUDA build of scripts/gpu-check.sh)
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const { NativeMlmModel } = require(path.join(ROOT, 'dist', 'lib', 'model', 'native-model.js'));
const { NativeTrainer } = require(path.join(ROOT, 'dist', 'lib', 'train', 'native-trainer.js'));
const { loadNative } = require(path.join(ROOT, 'dist', 'lib', 'native', 'loader.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

let failures = 0;
async function check(name, run) {
  try {
    const detail = await run();
    console.log(`PASS ${name}${detail ? ` (${detail})` : ''}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}

function assert(ok, message) {
  if (!ok) throw new Error(message);
}

// Four documents of 32, 20, 9 and 3 tokens ([CLS] ... [SEP], 0-padded), ids from a fixed LCG; vocab 30522.
function documents() {
  const lengths = [32, 20, 9, 3], L = 32;
  const inputIds = new Int32Array(lengths.length * L), attentionMask = new Int32Array(lengths.length * L);
  let state = 12345;
  lengths.forEach((n, b) => {
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      inputIds[b * L + i] = i === 0 ? 101 : i === n - 1 ? 102 : 1000 + (state % 29000);
      attentionMask[b * L + i] = 1;
    }
  });
  return { inputIds, attentionMask, batchSize: lengths.length, seqLen: L, lengths: Int32Array.from(lengths) };
}

function denseRows(csr) {
  const out = new Float64Array((csr.indptr.length - 1) * csr.numCols);
  for (let r = 0; r + 1 < csr.indptr.length; r++) {
    for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) out[r * csr.numCols + csr.indices[j]] = csr.values[j];
  }
  return out;
}

function relDiff(a, b) {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

// All float32 tensors of a safetensors file, by name.
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert(t.dtype === 'F32', `${file}: ${name} is ${t.dtype}`);
    const [begin, end] = t.data_offsets;
    const bytes = buf.subarray(8 + headerLength + begin, 8 + headerLength + end);
    out[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }
  return out;
}

// Two queries made of tokens of their positive documents. A query row is a CSR row: distinct ids, increasing.
function queryCsr(rows) {
  const indptr = [0]; const indices = []; const values = [];
  for (const row of rows) {
    const byId = new Map();
    for (const [id, w] of row) if (!byId.has(id)) byId.set(id, w);
    for (const id of [...byId.keys()].sort((a, b) => a - b)) { indices.push(id); values.push(byId.get(id)); }
    indptr.push(indices.length);
  }
  return { indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), values: Float32Array.from(values), numCols: 30522 };
}

function batch(docs) {
  const id = (i) => docs.inputIds[i];
  const L = docs.seqLen;
  return {
    docs, groupSize: 2,
    queries: queryCsr([[[id(1), 1.5], [id(2), 0.5], [id(3), 2]], [[id(2 * L + 1), 1], [id(2 * L + 2), 0.7]]]),
    teacher: Float32Array.from([3, 1, 2.5, 0.5]),
  };
}

const STEP = { lr: 5e-4, warmupSteps: 0, totalSteps: 100, lambda: 0.01, lambdaWarmup: 0, threshold: -1 };

async function main() {
  const device = arg('--device', 'cuda');
  const models = path.resolve(arg('--models', path.join(ROOT, 'test', 'fixtures', 'models')));
  const info = loadNative().buildInfo();
  console.log(`addon: torch ${info.torchVersion}, cuda build ${info.cuda}, GPUs ${info.cudaDeviceCount}; device ${device}`);
  const docs = documents();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-device-check-'));
  try {
    for (const name of ['bert', 'distilbert']) {
      const dir = path.join(models, name);
      await check(`encode ${name} on ${device} vs cpu`, async () => {
        const cpu = await NativeMlmModel.load(dir, { device: 'cpu' });
        const dev = await NativeMlmModel.load(dir, { device });
        try {
          assert(cpu.device === 'cpu', `cpu model reports ${cpu.device}`);
          assert(device === 'cpu' ? dev.device === 'cpu' : dev.device.startsWith('cuda:'), `model reports device ${dev.device}`);
          const opts = { activation: 'l0', k: 1, zeroTokenIds: Int32Array.from([0, 100, 101, 102, 103]) };
          const a = await dev.encode(docs.inputIds, docs.attentionMask, docs.batchSize, docs.seqLen, opts);
          const b = await cpu.encode(docs.inputIds, docs.attentionMask, docs.batchSize, docs.seqLen, opts);
          const rel = relDiff(denseRows(a), denseRows(b));
          assert(rel <= 1e-4, `max |w - w_cpu| / max |w_cpu| = ${rel} > 1e-4`);
          return `device ${dev.device}, max rel diff ${rel.toExponential(2)}, ${b.values.length} nonzeros`;
        } finally {
          cpu.dispose();
          dev.dispose();
        }
      });
      await check(`train ${name} 3 steps, dropout 0, on ${device} vs cpu`, async () => {
        const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
        Object.assign(config, { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, dropout: 0, attention_dropout: 0 });
        const cpu = await NativeMlmModel.create(config, { seed: 11, device: 'cpu' });
        const dev = await NativeMlmModel.create(config, { seed: 11, device });
        try {
          await cpu.save(path.join(work, `${name}-initial`));
          const b = batch(docs);
          const tc = NativeTrainer.create(cpu, STEP), td = NativeTrainer.create(dev, STEP);
          let worstLoss = 0;
          for (let s = 0; s < 3; s++) {
            const x = (await td.trainStep(b)).loss, y = (await tc.trainStep(b)).loss;
            assert(Number.isFinite(x), `step ${s}: loss ${x}`);
            worstLoss = Math.max(worstLoss, Math.abs(x - y) / Math.max(Math.abs(y), 1));
          }
          assert(worstLoss <= 1e-4, `losses differ by ${worstLoss} (relative) > 1e-4`);
          await cpu.save(path.join(work, `${name}-cpu`));
          await dev.save(path.join(work, `${name}-dev`));
          const [p0, pc, pd] = ['initial', 'cpu', 'dev'].map((k) => readSafetensors(path.join(work, `${name}-${k}`, 'model.safetensors')));
          let diff = 0, norm = 0;
          for (const key of Object.keys(p0)) {
            for (let i = 0; i < p0[key].length; i++) {
              diff += (pd[key][i] - pc[key][i]) ** 2;
              norm += (pc[key][i] - p0[key][i]) ** 2;
            }
          }
          const upd = Math.sqrt(diff / Math.max(norm, 1e-300));
          assert(norm > 0, 'training did not change the parameters');
          assert(upd <= 1e-2, `parameter updates differ by ${upd} (relative) > 1e-2`);
          return `loss rel diff ${worstLoss.toExponential(2)}, update rel diff ${upd.toExponential(2)}`;
        } finally {
          cpu.dispose();
          dev.dispose();
        }
      });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`device-check.js on ${device}: ${failures ? 'FAIL' : 'PASS'}`);
  process.exitCode = failures ? 1 : 0;
}

main().catch((e) => {
  console.log(`FAIL device-check.js: ${e.stack || e}`);
  process.exitCode = 1;
});
