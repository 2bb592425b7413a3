import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import { loadNative } from '../../lib/native/loader';
import { NativeTrainer, TRAIN_STEP_KEYS } from '../../lib/train/native-trainer';
import type { TrainBatch, TrainStepConfig } from '../../lib/train/native-trainer';
import {
  FIXTURES, TrainFixture, distilbertCopy, fixtureBatch, queryCsr, readTrainFixture, tempDir,
} from './native-trainer-fixture';

// Bad batches and configs are rejected with messages that name the problem, and a rejected step leaves the
// parameters and the step counter as they were (the next good step equals a fresh trainer's first step).

describe('train: NativeTrainer rejects bad input', function () {
  let fx: TrainFixture;
  let work: string;
  let modelDir: string;
  let model: NativeMlmModel;
  let trainer: NativeTrainer;
  const config: TrainStepConfig = { lr: 1e-3, warmupSteps: 0, lambdaWarmup: 0, lambda: 0.01 };

  before(async function () {
    if (!fs.existsSync(path.join(FIXTURES, 'train', 'st-splade-loss.json'))) this.skip();
    fx = readTrainFixture();
    work = tempDir('train-bad');
    modelDir = distilbertCopy(path.join(work, 'dropout0'));
    model = await NativeMlmModel.load(modelDir);
    trainer = NativeTrainer.create(model, config);
  });
  after(() => {
    model?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const good = () => fixtureBatch(fx);

  async function rejects(batch: TrainBatch, pattern: RegExp, t: NativeTrainer = trainer): Promise<void> {
    await assert.rejects(t.trainStep(batch), (e: Error) => {
      assert.match(e.message, pattern);
      return true;
    });
  }

  it('documents that do not split into groups of groupSize', async () => {
    const b = good();
    await rejects({ ...b, groupSize: 3 }, /8 documents do not split into groups of 3/);
    // 7 documents (one dropped) with groups of 2.
    const seven = { ...b, docs: { ...b.docs, batchSize: 7, inputIds: b.docs.inputIds.slice(0, 7 * b.docs.seqLen), attentionMask: b.docs.attentionMask.slice(0, 7 * b.docs.seqLen), lengths: b.docs.lengths.slice(0, 7) } };
    await rejects(seven, /7 documents do not split into groups of 2/);
  });

  it('a query CSR whose row count is not documents / groupSize', async () => {
    const b = good();
    await rejects({ ...b, queries: queryCsr(fx.queries.slice(0, 3)) }, /4 queries expected .* 3 rows/);
  });

  it('KL and MarginMSE without teacher scores; NaN, infinite or mis-sized teacher scores', async () => {
    await rejects(fixtureBatch(fx, { teacher: false }), /KL loss needs teacher scores/);
    const mm = NativeTrainer.create(model, { ...config, loss: 'margin_mse' });
    await rejects(fixtureBatch(fx, { teacher: false }), /MarginMSE loss needs teacher scores/, mm);
    for (const bad of [NaN, Infinity]) {
      const b = good();
      b.teacher![3] = bad;
      await rejects(b, /teacher scores contain NaN or infinity/);
    }
    const b = good();
    await rejects({ ...b, teacher: b.teacher!.slice(0, 6) }, /teacher scores must be \[4, 2\]/);
    await rejects({ ...b, teacher: b.teacher!.slice(0, 7) }, /teacher scores must be \[4, 2\], got \[7\]/);
  });

  it('token ids outside the vocabulary, in documents and in queries', async () => {
    for (const id of [30522, -1]) {
      const b = good();
      b.docs.inputIds[5] = id;
      await rejects(b, /outside the vocabulary \[0, 30522\)/);
    }
    const q = good();
    q.queries.indices[0] = 30522;
    await rejects(q, /trainStep: queries: row 0 has column 30522 outside \[0, 30522\)/);
  });

  it('the batch crosses N-API as it is (docs: DocumentBatch, queries: Csr): wrong shapes are Errors naming the field', async () => {
    const cast = (b: unknown) => b as TrainBatch;
    const b = good();
    await rejects(cast({ ...b, docs: 'ids' }), /trainStep: docs: expected a token batch/);
    await rejects(cast({ ...b, docs: undefined }), /trainStep: docs: expected a token batch/);
    await rejects(cast({ ...b, docs: { ...b.docs, inputIds: Float32Array.from(b.docs.inputIds) } }), /docs\.inputIds must be an Int32Array/);
    await rejects(cast({ ...b, docs: { ...b.docs, attentionMask: Array.from(b.docs.attentionMask) } }), /docs\.attentionMask must be an Int32Array/);
    await rejects({ ...b, docs: { ...b.docs, seqLen: b.docs.seqLen + 1 } },
      new RegExp(`docs\\.inputIds has ${b.docs.inputIds.length} entries, expected batchSize \\* seqLen = ${b.docs.batchSize * (b.docs.seqLen + 1)}`));
    await rejects(cast({ ...b, docs: { ...b.docs, batchSize: 0 } }), /docs\.batchSize must be an integer/);
    await rejects(cast({ ...b, queries: [1, 2] }), /trainStep: queries: expected \{ indptr/);
    await rejects(cast({ ...b, queries: { ...b.queries, indptr: Array.from(b.queries.indptr) } }), /queries\.indptr must be a Int32Array/);
    await rejects({ ...b, queries: { ...b.queries, numCols: 30000 } }, /queries\.numCols is 30000 but the model's vocabulary has 30522 tokens/);
    const bad = Int32Array.from(b.queries.indptr);
    bad[2] = bad[1] - 1;
    await rejects({ ...b, queries: { ...b.queries, indptr: bad } }, /trainStep: queries: indptr decreases at row 1/);
    const negative = Float32Array.from(b.queries.values);
    negative[0] = -1;
    await rejects({ ...b, queries: { ...b.queries, values: negative } }, /value -1\.0+ must be finite and >= 0/);
    await rejects(cast({ ...b, teacher: Array.from(b.teacher!) }), /teacher must be a Float32Array/);
  });

  it('MarginMSE with groups of one document', async () => {
    const mm = NativeTrainer.create(model, { ...config, loss: 'margin_mse' });
    const b = good();
    await rejects({ ...b, groupSize: 1, queries: queryCsr([...fx.queries, ...fx.queries]) }, /MarginMSE needs groups of >= 2/, mm);
  });

  it('unknown config keys, wrong types and out-of-range values, in TS and in the native key table', () => {
    assert.throws(() => NativeTrainer.create(model, { lamda: 0.1 } as unknown as TrainStepConfig), /unknown key 'lamda'/);
    const native = loadNative();
    assert.throws(() => native.trainerCreate(model.nativeHandle, { lamda: 0.1 } as unknown as TrainStepConfig), /unknown key 'lamda'/);
    assert.throws(() => native.trainerCreate(model.nativeHandle, { lr: '1e-3' } as unknown as TrainStepConfig), /'lr' must be a number/);
    assert.throws(() => native.trainerCreate(model.nativeHandle, { bf16: 1 } as unknown as TrainStepConfig), /'bf16' must be true or false/);
    assert.throws(() => native.trainerCreate(model.nativeHandle, { loss: 3 } as unknown as TrainStepConfig), /'loss' must be a string/);
    // Undefined is absent, as for a TS optional field.
    NativeTrainer.create(model, { lr: undefined, seed: 3 });
    assert.throws(() => NativeTrainer.create(model, { lr: -1 }), /'lr' must be in/);
    assert.throws(() => NativeTrainer.create(model, { loss: 'hinge' as 'kl' }), /'loss' must be kl, margin_mse or info_nce/);
    assert.throws(() => NativeTrainer.create(model, { activation: 'gelu' as 'relu' }), /'activation' must be relu or l0/);
    assert.throws(() => NativeTrainer.create(model, { activation: 'relu', decoupled: true }), /'decoupled' needs the l0 activation/);
    assert.throws(() => NativeTrainer.create(model, { gradAccumulation: 0 }), /'gradAccumulation' must be an integer/);
    assert.throws(() => NativeTrainer.create(model, { k: 1.5 }), /k\W* must be an integer/);
  });

  it('the TS key list is exactly the native key table', () => {
    assert.deepStrictEqual([...TRAIN_STEP_KEYS].sort(), loadNative().trainConfigKeys().sort());
  });

  it('rejected steps changed nothing: the next good step equals a fresh trainer\'s first step', async () => {
    const m = await trainer.trainStep(good());
    assert.equal(m.step, 1, 'every earlier step was rejected, so this is the first optimizer step');
    await model.save(path.join(work, 'after-rejections'));
    const fresh = await NativeMlmModel.load(modelDir);
    try {
      await NativeTrainer.create(fresh, config).trainStep(good());
      await fresh.save(path.join(work, 'fresh'));
    } finally {
      fresh.dispose();
    }
    assert.ok(fs.readFileSync(path.join(work, 'after-rejections', 'model.safetensors'))
      .equals(fs.readFileSync(path.join(work, 'fresh', 'model.safetensors'))));
  });

  it('a non-finite loss (finite teacher scores ±3e38 overflow the softmax) rejects and updates nothing', async () => {
    const m = await NativeMlmModel.load(modelDir);
    try {
      const t = NativeTrainer.create(m, config);
      const b = good();
      b.teacher = Float32Array.from([3e38, -3e38, 1, 2, 3, 4, 5, 6]);
      await rejects(b, /loss is not finite .* parameters were not updated/, t);
      await m.save(path.join(work, 'nan-loss-before'));
      await rejects(b, /loss is not finite .* parameters were not updated/, t);
      await m.save(path.join(work, 'nan-loss'));
      assert.ok(fs.readFileSync(path.join(work, 'nan-loss', 'model.safetensors')).equals(fs.readFileSync(path.join(work, 'nan-loss-before', 'model.safetensors'))));
      const next = await t.trainStep(good());
      assert.equal(next.step, 1);
    } finally {
      m.dispose();
    }
  });

  it('an overflowing gradient (teacher margins of 3e18: finite loss, infinite gradient norm) rejects the step and keeps the parameters', async () => {
    // (A huge learning rate no longer makes this model non-finite: LayerNorm and a softmax that subtracts its
    // maximum keep even a wrecked model finite, so the guard is driven by the gradient directly.)
    const m = await NativeMlmModel.load(modelDir);
    try {
      const t = NativeTrainer.create(m, { loss: 'margin_mse', lr: 1e-3, warmupSteps: 0, lambdaWarmup: 0, lambda: 0.05, maxGradNorm: 1 });
      await t.trainStep(good());
      await m.save(path.join(work, 'last-good'));
      const b = good();
      const G = b.groupSize;
      b.teacher = Float32Array.from({ length: b.teacher!.length }, (_, i) => (i % G === 0 ? 3e18 : 0));
      await assert.rejects(t.trainStep(b), (e: Error) => {
        assert.match(e.message, /gradient norm is not finite at step 1; parameters were not updated/);
        return true;
      });
      await m.save(path.join(work, 'after-divergence'));
      assert.ok(fs.readFileSync(path.join(work, 'after-divergence', 'model.safetensors'))
        .equals(fs.readFileSync(path.join(work, 'last-good', 'model.safetensors'))), 'the failed step changed parameters');
      const next = await t.trainStep(good());  // the rejected step left no accumulated gradient behind
      assert.equal(next.step, 2);
      assert.ok(Number.isFinite(next.gradNorm));
    } finally {
      m.dispose();
    }
  });

  // KNOWN GAP (issue 5 lists "empty docs" as bad input): a document row whose attention mask is all 0 (no
  // tokens at all) is accepted silently; it gets an all-zero vector and takes part in the loss. Kept as a
  // marked, skipped test until the trainer rejects it (or the lead decides it is valid input).
  it('a document without any token (attention mask all 0) is rejected', async () => {
    const b = good();
    b.docs.attentionMask.fill(0, 0, b.docs.seqLen);
    await rejects(b, /empty|no tokens|attention/i);
  });
});
