import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import { NativeTrainer } from '../../lib/train/native-trainer';
import type { TrainBatch, TrainMetrics, TrainStepConfig } from '../../lib/train/native-trainer';
import {
  FIXTURES, TrainFixture, denseDocs, distilbertCopy, fixtureBatch, groupOf, nnzOf, readSafetensors, readTrainFixture,
  referenceFlops, referenceInfoNce, referenceKl, referenceMarginMse, referenceScores, relErr, tempDir,
} from './native-trainer-fixture';

// NativeTrainer metrics against docs/METHOD.md §3 composed here in float64 from the dense document vectors of the
// model's inference path (NativeMlmModel.encodeDense), on the fixture batch (4 queries × 2 docs) and the
// dropout-0 tiny DistilBERT. lr 0 unless a test is about the update.

const TOL = 2e-5;

describe('train: NativeTrainer against composed references', function () {
  let fx: TrainFixture;
  let work: string;
  let modelDir: string;
  let dropoutDir: string;
  let batch: TrainBatch;
  let teacher: number[][];
  const dense: Record<string, Float64Array[]> = {};

  before(async function () {
    if (!fs.existsSync(path.join(FIXTURES, 'train', 'st-splade-loss.json'))) this.skip();
    fx = readTrainFixture();
    work = tempDir('train-ref');
    modelDir = distilbertCopy(path.join(work, 'dropout0'));
    dropoutDir = distilbertCopy(path.join(work, 'dropout'), false);
    batch = fixtureBatch(fx);
    teacher = fx.teacher;
    const model = await NativeMlmModel.load(modelDir);
    dense.relu = await denseDocs(model, batch, 'relu');
    dense.l0 = await denseDocs(model, batch, 'l0');
    model.dispose();
  });
  after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

  async function withTrainer<T>(dir: string, config: TrainStepConfig, fn: (t: NativeTrainer, m: NativeMlmModel) => Promise<T>): Promise<T> {
    const model = await NativeMlmModel.load(dir);
    try {
      return await fn(NativeTrainer.create(model, config), model);
    } finally {
      model.dispose();
    }
  }
  const oneStep = (config: TrainStepConfig, b: TrainBatch = batch) =>
    withTrainer(modelDir, { lr: 0, warmupSteps: 0, lambdaWarmup: 0, ...config }, (t) => t.trainStep(b));

  function close(got: number, want: number, what: string, tol = TOL): void {
    assert.ok(relErr(got, want) <= tol, `${what}: trainer ${got}, reference ${want} (relative error ${relErr(got, want)})`);
  }

  const scores = (docs: Float64Array[]) => referenceScores(fx.queries, docs);
  const t = () => fx.cases['kl-l0'].threshold;

  it('λ(step) = λ·min(1, ((step+1)/T)²) and loss = ranking + λ(step)·regularizer at every step', async () => {
    await withTrainer(modelDir, { lr: 0, warmupSteps: 0, lambda: 0.2, lambdaWarmup: 4 }, async (trainer) => {
      for (let step = 0; step < 6; step++) {
        const m = await trainer.trainStep(batch);
        const want = 0.2 * Math.min(1, ((step + 1) / 4) ** 2);
        close(m.lambda, want, `λ at step ${step}`, 1e-12);
        close(m.loss, m.rankingLoss + want * m.regularizerLoss, `loss at step ${step}`, 1e-6);
        assert.equal(m.step, step + 1);
      }
    });
  });

  it('lr follows linear warm-up then linear decay (transformers schedule: 0 at step 0)', async () => {
    const peak = 1e-7;
    await withTrainer(modelDir, { lr: peak, warmupSteps: 2, totalSteps: 6 }, async (trainer) => {
      const want = [0, peak / 2, peak, peak * 3 / 4, peak / 2, peak / 4, 0, 0];
      for (let step = 0; step < want.length; step++) {
        const m = await trainer.trainStep(batch);
        assert.ok(Math.abs(m.lr - want[step]) <= 1e-12 * peak, `lr at step ${step}: ${m.lr} vs ${want[step]}`);
      }
    });
  });

  for (const activation of ['relu', 'l0'] as const) {
    it(`${activation}: KL loss, per-slot and pooled ℓ0-masked FLOPS, mask rate, nnz and batch FLOPS`, async () => {
      const d = dense[activation];
      const wantKl = referenceKl(groupOf(scores(d), 2), teacher, 1);
      const perSlot = referenceFlops(d, 2, t());
      const pooled = referenceFlops(d, 1, t());
      // The two poolings differ on this batch, so the option is really tested.
      assert.ok(relErr(perSlot, pooled) > 0.05, `per-slot ${perSlot} vs pooled ${pooled}`);
      const a = await oneStep({ activation, threshold: t(), lambda: 0.01 });
      const b = await oneStep({ activation, threshold: t(), lambda: 0.01, regularizerPerSlot: false });
      close(a.rankingLoss, wantKl, 'KL');
      close(a.regularizerLoss, perSlot, 'per-slot FLOPS');
      close(b.regularizerLoss, pooled, 'pooled FLOPS');
      close(a.loss, wantKl + 0.01 * perSlot, 'total');
      const nnz = d.map(nnzOf);
      assert.equal(a.maskRate, nnz.filter((n) => n <= t()).length / nnz.length);
      assert.ok(a.maskRate > 0 && a.maskRate < 1);
      assert.ok(Math.abs(a.meanDocNnz - nnz.reduce((x, y) => x + y, 0) / nnz.length) <= 2);
      // Σ_j p_q(j) p_d(j): p_q(j) = share of queries holding j, p_d(j) = share of docs with w_j > 0.
      const V = d[0].length;
      const pq = new Float64Array(V);
      for (const [ids] of fx.queries) for (const id of new Set(ids)) pq[id] += 1 / fx.queries.length;
      let flops = 0;
      for (let j = 0; j < V; j++) if (pq[j]) flops += pq[j] * d.filter((x) => x[j] > 0).length / d.length;
      close(a.batchFlops, flops, 'batch FLOPS', 1e-9);
    });
  }

  it('threshold above every document: regularizer 0, mask rate 1; threshold < 0: plain FLOPS', async () => {
    const high = await oneStep({ threshold: 1e9, lambda: 1 });
    assert.equal(high.regularizerLoss, 0);
    assert.equal(high.maskRate, 1);
    close(high.loss, high.rankingLoss, 'loss without regularizer', 1e-12);
    const plain = await oneStep({ threshold: -1, lambda: 1 });
    assert.equal(plain.maskRate, 0);
    close(plain.regularizerLoss, referenceFlops(dense.l0, 2, -Infinity), 'plain per-slot FLOPS');
    const atMin = Math.min(...dense.l0.map(nnzOf));
    // t equal to the smallest nnz masks exactly that document (M = [nnz > t]).
    const edge = await oneStep({ threshold: atMin, lambda: 1 });
    assert.equal(edge.maskRate, 1 / 8);
    close(edge.regularizerLoss, referenceFlops(dense.l0, 2, atMin), 'FLOPS at t = min nnz');
  });

  it('decoupled: scores with relu weights, the extra log only inside the regularizer', async () => {
    const relu = dense.relu;
    const logged = relu.map((d) => d.map(Math.log1p));
    const m = await oneStep({ activation: 'l0', decoupled: true, threshold: t(), lambda: 0.01 });
    close(m.rankingLoss, referenceKl(groupOf(scores(relu), 2), teacher, 1), 'decoupled ranking loss (relu weights)');
    close(m.regularizerLoss, referenceFlops(logged, 2, t()), 'decoupled regularizer (log1p of relu weights)');
    // Not the coupled l0 ranking loss, and the same regularizer as coupled l0 (log1p(log1p(relu)) both ways).
    const coupled = referenceKl(groupOf(scores(dense.l0), 2), teacher, 1);
    assert.ok(relErr(m.rankingLoss, coupled) > 1e-3, `decoupled ranking ${m.rankingLoss} equals the coupled ${coupled}`);
    close(m.regularizerLoss, referenceFlops(dense.l0, 2, t()), 'decoupled regularizer vs l0 vectors', 1e-4);
  });

  it('MarginMSE and InfoNCE (in-batch + hard negatives, scaled) equal their formulas', async () => {
    const s = scores(dense.l0);
    const mm = await oneStep({ loss: 'margin_mse', threshold: t(), lambda: 0 });
    close(mm.rankingLoss, referenceMarginMse(groupOf(s, 2), teacher), 'MarginMSE');
    const noTeacher = fixtureBatch(fx, { teacher: false });
    for (const scale of [1, 20]) {
      const nce = await oneStep({ loss: 'info_nce', infoNceScale: scale, threshold: t(), lambda: 0 }, noTeacher);
      close(nce.rankingLoss, referenceInfoNce(s, 2, scale), `InfoNCE scale ${scale}`);
    }
    // KL with temperature T: the T² scaling.
    const kl2 = await oneStep({ loss: 'kl', temperature: 2, threshold: t(), lambda: 0 });
    close(kl2.rankingLoss, referenceKl(groupOf(s, 2), teacher, 2), 'KL T=2');
  });

  async function trainAndSave(dir: string, config: TrainStepConfig, batches: TrainBatch[], out: string): Promise<TrainMetrics[]> {
    return withTrainer(dir, config, async (trainer, model) => {
      const ms: TrainMetrics[] = [];
      for (const b of batches) ms.push(await trainer.trainStep(b));
      await model.save(out);
      return ms;
    });
  }

  function maxParamDiff(a: string, b: string): number {
    const x = readSafetensors(path.join(a, 'model.safetensors'));
    const y = readSafetensors(path.join(b, 'model.safetensors'));
    let m = 0;
    for (const [k, v] of x) {
      const w = y.get(k)!.data;
      for (let i = 0; i < v.data.length; i++) m = Math.max(m, Math.abs(v.data[i] - w[i]));
    }
    return m;
  }

  it('gradient accumulation: 2 half batches = one full batch (λ = 0); two plain steps differ', async () => {
    const halves = [fixtureBatch(fx, { toQuery: 2 }), fixtureBatch(fx, { fromQuery: 2 })];
    // eps 1e-3: AdamW's first update is lr·g/(|g|+eps), linear in g for the float-noise gradients (≈0) that
    // would otherwise be blown up to ±lr.
    const base: TrainStepConfig = { lr: 1e-2, warmupSteps: 0, lambda: 0, threshold: -1, regularizerPerSlot: false, maxGradNorm: 0, adamEps: 1e-3 };
    const full = path.join(work, 'acc-full'); const acc = path.join(work, 'acc-2'); const two = path.join(work, 'acc-plain');
    const [f] = await trainAndSave(modelDir, base, [batch], full);
    const [m1, m2] = await trainAndSave(modelDir, { ...base, gradAccumulation: 2 }, halves, acc);
    await trainAndSave(modelDir, base, halves, two);
    assert.equal(m1.optimizerStepped, false); assert.equal(m1.step, 0); assert.equal(m1.gradNorm, 0);
    assert.equal(m2.optimizerStepped, true); assert.equal(m2.step, 1);
    close(m2.gradNorm, f.gradNorm, 'accumulated gradient norm', 1e-4);
    const moved = maxParamDiff(modelDir, full);
    assert.ok(moved > 1e-3, `the full step moved parameters by ${moved}`);
    const diff = maxParamDiff(full, acc);
    if (process.env.L0SPARSE_TRAIN_VERBOSE) console.log(`      moved ${moved}, accumulated vs full ${diff}`);
    assert.ok(diff <= 1e-6, `accumulated vs full batch: max parameter difference ${diff}`);
    assert.ok(maxParamDiff(full, two) > 1e-3, 'two plain steps on half batches should differ from one full step');
  });

  it('AdamW weight decay: p·(1 - lr·wd) on weights, none on biases and LayerNorm weights', async () => {
    // Same step with wd 0 and wd 2: the parameters differ by exactly lr·wd·p_before where decay applies.
    const lr = 1e-2; const wd = 2;
    const base: TrainStepConfig = { lr, warmupSteps: 0, lambda: 0.01, lambdaWarmup: 0, maxGradNorm: 0 };
    const a = path.join(work, 'wd-0'); const b = path.join(work, 'wd-2');
    await trainAndSave(modelDir, { ...base, weightDecay: 0 }, [batch], a);
    await trainAndSave(modelDir, { ...base, weightDecay: wd }, [batch], b);
    const p0 = readSafetensors(path.join(modelDir, 'model.safetensors'));
    const pa = readSafetensors(path.join(a, 'model.safetensors'));
    const pb = readSafetensors(path.join(b, 'model.safetensors'));
    const exempt = (name: string) => name.endsWith('bias') || /LayerNorm|layer_norm/.test(name);
    let decayed = 0; let exempted = 0;
    for (const [name, { data }] of p0) {
      const x = pa.get(name)!.data; const y = pb.get(name)!.data;
      let worst = 0; let scale = 0;
      for (let i = 0; i < data.length; i++) {
        const want = exempt(name) ? 0 : lr * wd * data[i];
        worst = Math.max(worst, Math.abs((x[i] - y[i]) - want));
        scale = Math.max(scale, Math.abs(data[i]));
      }
      assert.ok(worst <= 2e-7 * Math.max(scale, 1), `${name}: decay differs from ${exempt(name) ? 'none' : 'lr·wd·p'} by ${worst}`);
      if (exempt(name)) exempted++; else decayed++;
    }
    assert.ok(decayed >= 10 && exempted >= 10, `${decayed} decayed, ${exempted} exempt tensors`);
    // LayerNorm weights start at 1, so a wrongly applied decay would show as lr·wd = 0.02.
    assert.ok(p0.get('vocab_layer_norm.weight')!.data.every((v) => Math.abs(v - 1) < 0.5));
  });

  it('clipping: the applied gradient has norm maxGradNorm; the reported gradNorm is the norm before clipping', async () => {
    // lr 1, eps 1, wd 0: the first AdamW step moves p by -g/(|g|+1), so g = u/(1-|u|) is read back.
    const cfg: TrainStepConfig = { lr: 1, adamEps: 1, weightDecay: 0, warmupSteps: 0, lambda: 0.05, lambdaWarmup: 0, threshold: -1 };
    const out = path.join(work, 'clip');
    const [m] = await trainAndSave(modelDir, { ...cfg, maxGradNorm: 2 }, [batch], out);
    const p0 = readSafetensors(path.join(modelDir, 'model.safetensors'));
    const p1 = readSafetensors(path.join(out, 'model.safetensors'));
    let sq = 0;
    for (const [name, { data }] of p0) {
      const after = p1.get(name)!.data;
      for (let i = 0; i < data.length; i++) { const u = data[i] - after[i]; const g = u / (1 - Math.abs(u)); sq += g * g; }
    }
    assert.ok(m.gradNorm > 10, `gradient norm before clipping ${m.gradNorm}`);
    close(Math.sqrt(sq), 2, 'norm of the applied (clipped) gradient', 1e-4);
  });

  it('bf16 autocast: losses and gradient norm close to float32 (bf16 has ~3 significant digits)', async () => {
    const cfg: TrainStepConfig = { lambda: 0.05, threshold: -1, regularizerPerSlot: false, maxGradNorm: 0 };
    const f32 = await oneStep(cfg);
    const b16 = await oneStep({ ...cfg, bf16: true });
    close(b16.rankingLoss, f32.rankingLoss, 'bf16 ranking loss', 3e-2);
    close(b16.regularizerLoss, f32.regularizerLoss, 'bf16 regularizer', 3e-2);
    close(b16.gradNorm, f32.gradNorm, 'bf16 gradient norm', 5e-2);
    assert.notEqual(b16.regularizerLoss, f32.regularizerLoss, 'bf16 gave bit-identical results: is autocast on?');
  });

  it('determinism on CPU: same seed → identical saved parameters after 3 steps (dropout on); another seed differs', async () => {
    const cfg = (seed: number): TrainStepConfig => ({ lr: 1e-3, warmupSteps: 0, lambdaWarmup: 0, lambda: 0.01, seed });
    const a = path.join(work, 'det-a'); const b = path.join(work, 'det-b'); const c = path.join(work, 'det-c');
    const ma = await trainAndSave(dropoutDir, cfg(7), [batch, batch, batch], a);
    const mb = await trainAndSave(dropoutDir, cfg(7), [batch, batch, batch], b);
    await trainAndSave(dropoutDir, cfg(8), [batch, batch, batch], c);
    assert.ok(fs.readFileSync(path.join(a, 'model.safetensors')).equals(fs.readFileSync(path.join(b, 'model.safetensors'))));
    assert.deepEqual(ma.map((m) => m.loss), mb.map((m) => m.loss));
    assert.ok(!fs.readFileSync(path.join(a, 'model.safetensors')).equals(fs.readFileSync(path.join(c, 'model.safetensors'))),
      'a different seed gave identical parameters: is dropout active?');
  });
});
