import { strict as assert } from 'assert';
import * as path from 'path';
import { Worker } from 'worker_threads';

import { rng } from '../helpers';
import { NativeMlmModel } from '../../lib/model/native-model';
import type { Csr } from '../../lib/sparse/csr';
import { initBagOfWords, NativeTrainer } from '../../lib/train/native-trainer';

// Concurrent encode calls on one model (many Promises in flight from one thread), models in several
// worker_threads at once, handles that cannot cross threads, disposal and worker termination with work in
// flight, and encode racing a train step on the same model (allowed: no crash, see docs/RELIABILITY.md).

const MODEL = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'distilbert');
const B = 4;
const L = 16;

function batch(seed: number): { ids: Int32Array; mask: Int32Array } {
  const next = rng(seed);
  const ids = new Int32Array(B * L);
  const mask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const len = 4 + Math.floor(next() * (L - 4));
    for (let t = 0; t < len; t++) { ids[b * L + t] = t === 0 ? 101 : 1000 + Math.floor(next() * 29000); mask[b * L + t] = 1; }
  }
  return { ids, mask };
}

function same(a: Csr, b: Csr): void {
  assert.deepEqual(Array.from(a.indptr), Array.from(b.indptr));
  assert.deepEqual(Array.from(a.indices), Array.from(b.indices));
  for (let i = 0; i < a.values.length; i++) assert.ok(Math.abs(a.values[i] - b.values[i]) <= 1e-6 * Math.max(1, Math.abs(a.values[i])));
}

function runWorker(data: unknown): Promise<{ csr?: Csr; allEqual?: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, 'encode-worker.js'), { workerData: data });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited ${code}`)); });
  });
}

describe('reliability: concurrent encoding', function () {
  this.timeout(300000);
  let model: NativeMlmModel;
  before(async () => { model = await NativeMlmModel.load(MODEL); });
  after(() => model?.dispose());

  it('32 encode calls in flight on one model give the results of sequential calls', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => batch(i + 1));
    const sequential: Csr[] = [];
    for (const x of inputs) sequential.push(await model.encode(x.ids, x.mask, B, L, { activation: 'l0' }));
    const all = await Promise.all(Array.from({ length: 32 }, (_, i) =>
      model.encode(inputs[i % 8].ids, inputs[i % 8].mask, B, L, { activation: 'l0' })));
    all.forEach((r, i) => same(r, sequential[i % 8]));
  });

  it('three worker_threads, each with its own model, encode concurrently and agree with the main thread', async () => {
    const x = batch(42);
    const main = await model.encode(x.ids, x.mask, B, L, { activation: 'l0' });
    const results = await Promise.all([0, 1, 2].map(() =>
      runWorker({ modelDir: MODEL, inputIds: x.ids, attentionMask: x.mask, batchSize: B, seqLen: L, repeat: 10 })));
    for (const r of results) {
      assert.equal(r.error, undefined);
      assert.ok(r.allEqual, 'repeated encodes in a worker differ');
      same(r.csr!, main);
    }
  });

  it('a model handle cannot be sent to another thread (DataCloneError), and the sender keeps working', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      assert.throws(() => port1.postMessage(model.nativeHandle), (e: Error) => e.name === 'DataCloneError' || /could not be cloned/.test(e.message));
    } finally {
      port1.close(); port2.close();
    }
    const x = batch(5);
    assert.equal((await model.encode(x.ids, x.mask, B, L, { activation: 'l0' })).indptr.length, B + 1);
  });

  it('terminating a worker with native encodes in flight does not crash the process', async () => {
    const x = batch(9);
    for (let i = 0; i < 3; i++) {
      const w = new Worker(path.join(__dirname, 'encode-worker.js'),
        { workerData: { modelDir: MODEL, inputIds: x.ids, attentionMask: x.mask, batchSize: B, seqLen: L, repeat: 1000 } });
      await new Promise((r) => setTimeout(r, 400 + 200 * i));
      await w.terminate();
    }
    assert.equal((await model.encode(x.ids, x.mask, B, L, { activation: 'l0' })).indptr.length, B + 1);
  });

  it('dispose() with encodes in flight: they finish, later calls are refused', async () => {
    const m = await NativeMlmModel.load(MODEL);
    const x = batch(3);
    const pending = Array.from({ length: 6 }, () => m.encode(x.ids, x.mask, B, L, { activation: 'l0' }));
    m.dispose();
    for (const r of await Promise.all(pending)) assert.equal(r.indptr.length, B + 1);
    await assert.rejects(m.encode(x.ids, x.mask, B, L, { activation: 'l0' }), /disposed/);
  });

  it('encode racing a train step on the same model sees the parameters of before or after the step, never a mix', async () => {
    const m = await NativeMlmModel.load(MODEL);
    const trainer = NativeTrainer.create(m, { lr: 1e-2, warmupSteps: 0, lambda: 0.01, loss: 'info_nce' } as never);
    const x = batch(17);
    const step = () => trainer.trainStep({
      docs: { inputIds: x.ids, attentionMask: x.mask, batchSize: B, seqLen: L, lengths: new Int32Array(B) } as never,
      groupSize: 2,
      queries: { indptr: Int32Array.from([0, 2, 4]), indices: Int32Array.from([2000, 2001, 3000, 3001]), values: Float32Array.from([1, 1, 1, 1]), numCols: 30522 },
    } as never);
    const encode = () => m.encode(x.ids, x.mask, B, L, { activation: 'l0' });
    const same = (a: Csr, b: Csr) => a.indices.length === b.indices.length && a.values.every((v, i) => v === b.values[i]) &&
      a.indices.every((v, i) => v === b.indices[i]);
    let sawBefore = 0;
    let sawAfter = 0;
    for (let i = 0; i < 6; i++) {
      const before = await encode();
      const [, racing] = await Promise.all([step(), encode()]);
      const after = await encode();
      assert.ok(!same(before, after), 'the step changed nothing');
      if (same(racing, before)) sawBefore++;
      else if (same(racing, after)) sawAfter++;
      else assert.fail(`round ${i}: an encode during the step saw a mix of old and new parameters`);
      for (const v of racing.values) assert.ok(Number.isFinite(v) && v > 0);
    }
    console.log(`      racing encodes: ${sawBefore} saw the parameters before the step, ${sawAfter} after`);
    m.dispose();
  });

  it('initBagOfWords while a step runs is refused with a clear error instead of blocking the event loop', async () => {
    const m = await NativeMlmModel.load(MODEL);
    const trainer = NativeTrainer.create(m, { lr: 1e-2, lambda: 0.01, loss: 'info_nce' } as never);
    const x = batch(5);
    const step = () => trainer.trainStep({
      docs: { inputIds: x.ids, attentionMask: x.mask, batchSize: B, seqLen: L, lengths: new Int32Array(B) } as never,
      groupSize: 2,
      queries: { indptr: Int32Array.from([0, 1, 2]), indices: Int32Array.from([2000, 3000]), values: Float32Array.from([1, 1]), numCols: 30522 },
    } as never);
    // The step holds the model from the moment a pool thread picks it up; poll (leaving the lock free between
    // tries) until a try overlaps it. Under load a whole step can pass between two tries, so up to 20 steps.
    let refused: Error | null = null;
    for (let round = 0; round < 20 && !refused; round++) {
      let settled = false;
      const pending = step().finally(() => { settled = true; });
      while (!refused && !settled) {
        try { initBagOfWords(m, { seed: 1 }); } catch (e) { refused = e as Error; }
        if (!refused) await new Promise((r) => setTimeout(r, 1));
      }
      await pending;
    }
    assert.ok(refused, 'initBagOfWords never overlapped the step');
    assert.match(refused.message, /model is in use .* await it first/);
    initBagOfWords(m, { seed: 1 });  // free again
    m.dispose();
  });
});
