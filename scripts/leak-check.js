#!/usr/bin/env node
'use strict';
// Memory over many native calls on the tiny fixture model (test/fixtures/models/distilbert): N encode calls
// (batch 4 x 16 tokens) and M train steps (InfoNCE, 2 queries x 2 docs), RSS sampled along the way.
// A leak shows as RSS that keeps growing after the warm-up; the report gives RSS after warm-up, at the end,
// the peak and the growth over the second half (the allocator settles in the first).
//
//   node --expose-gc scripts/leak-check.js [--encodes 10000] [--steps 1000] [--threads 1] [--json]
// Needs `npx tsc -p tsconfig.json` (reads dist/lib) and the addon (L0SPARSE_ADDON or the usual loader).
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const { NativeMlmModel } = require(path.join(ROOT, 'dist', 'lib', 'model', 'native-model.js'));
const { NativeTrainer } = require(path.join(ROOT, 'dist', 'lib', 'train', 'native-trainer.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const MODEL = path.join(ROOT, 'test', 'fixtures', 'models', 'distilbert');
const B = 4;
const L = 16;
const mb = (x) => Math.round((x / 1048576) * 10) / 10;

function inputs(seed) {
  let a = seed >>> 0;
  const next = () => { a = (Math.imul(a, 1664525) + 1013904223) >>> 0; return a / 4294967296; };
  const ids = new Int32Array(B * L);
  const mask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const len = 4 + Math.floor(next() * (L - 4));
    for (let t = 0; t < len; t++) { ids[b * L + t] = t === 0 ? 101 : 1000 + Math.floor(next() * 29000); mask[b * L + t] = 1; }
  }
  return { ids, mask };
}

async function measure(name, n, call) {
  const warm = Math.min(200, Math.floor(n / 10));
  const samples = [];
  const t0 = Date.now();
  let atWarm = 0;
  let atHalf = 0;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    await call(i);
    if (i % 50 === 49 || i === n - 1) {
      if (global.gc) global.gc();
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      samples.push([i + 1, mb(rss)]);
      if (!atWarm && i + 1 >= warm) atWarm = rss;
      if (!atHalf && i + 1 >= n / 2) atHalf = rss;
    }
  }
  const end = process.memoryUsage().rss;
  return { name, calls: n, seconds: (Date.now() - t0) / 1000, rssAfterWarmupMb: mb(atWarm), rssHalfMb: mb(atHalf),
    rssEndMb: mb(end), rssPeakMb: mb(peak), growthSecondHalfMb: mb(end - atHalf),
    growthPerThousandCallsKb: Math.round(((end - atHalf) / 1024) / ((n - n / 2) / 1000)), samples };
}

async function main() {
  const encodes = arg('--encodes', 10000);
  const steps = arg('--steps', 1000);
  const threads = arg('--threads', 1);
  require(path.join(ROOT, 'dist', 'lib', 'native', 'loader.js')).loadNative().setNumThreads(threads);
  const out = { threads, gc: Boolean(global.gc), startRssMb: mb(process.memoryUsage().rss), results: [] };
  const model = await NativeMlmModel.load(MODEL);
  const batches = Array.from({ length: 16 }, (_, i) => inputs(i + 1));
  if (encodes > 0) {
    out.results.push(await measure('encode', encodes, (i) => {
      const x = batches[i % batches.length];
      return model.encode(x.ids, x.mask, B, L, { activation: 'l0' });
    }));
  }
  if (steps > 0) {
    const trainModel = await NativeMlmModel.load(MODEL);
    const trainer = NativeTrainer.create(trainModel, { lr: 1e-4, lambda: 0.01, loss: 'info_nce' });
    const queries = { indptr: Int32Array.from([0, 2, 4]), indices: Int32Array.from([2000, 2001, 3000, 3001]),
      values: Float32Array.from([1, 1, 1, 1]), numCols: 30522 };
    out.results.push(await measure('trainStep', steps, (i) => {
      const x = batches[i % batches.length];
      return trainer.trainStep({ docs: { inputIds: x.ids, attentionMask: x.mask, batchSize: B, seqLen: L, lengths: new Int32Array(B) },
        groupSize: 2, queries });
    }));
    trainModel.dispose();
  }
  model.dispose();
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    for (const r of out.results) {
      process.stdout.write(`${r.name}: ${r.calls} calls in ${r.seconds.toFixed(1)} s; RSS after warm-up ${r.rssAfterWarmupMb} MB, ` +
        `at half ${r.rssHalfMb} MB, end ${r.rssEndMb} MB, peak ${r.rssPeakMb} MB; second-half growth ${r.growthSecondHalfMb} MB ` +
        `(${r.growthPerThousandCallsKb} KB per 1000 calls)\n`);
    }
  }
  return out;
}

module.exports = { main };
if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
