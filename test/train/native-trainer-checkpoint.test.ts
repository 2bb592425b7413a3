import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import { NativeTrainer } from '../../lib/train/native-trainer';
import type { TrainStepConfig } from '../../lib/train/native-trainer';
import { FIXTURES, TrainFixture, distilbertCopy, fixtureBatch, readTrainFixture, tempDir } from './native-trainer-fixture';

// saveCheckpoint / loadCheckpoint: a run resumed from a checkpoint (fresh process state: new model object, new
// trainer) continues exactly like the uninterrupted run — AdamW moments, step counter (λ and lr schedules)
// and the RNG (dropout masks) included. Dropout stays on (the original fixture config), so a lost RNG state
// or optimizer state changes the parameters.

describe('train: NativeTrainer checkpoints resume bit-exactly', function () {
  let fx: TrainFixture;
  let work: string;
  let modelDir: string;
  const config: TrainStepConfig = { lr: 1e-3, warmupSteps: 2, totalSteps: 10, lambda: 0.05, lambdaWarmup: 3, seed: 11 };

  before(function () {
    if (!fs.existsSync(path.join(FIXTURES, 'train', 'st-splade-loss.json'))) this.skip();
    fx = readTrainFixture();
    work = tempDir('train-ckpt');
    modelDir = distilbertCopy(path.join(work, 'dropout'), false);
  });
  after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

  const bytes = (dir: string) => fs.readFileSync(path.join(dir, 'model.safetensors'));

  it('2 steps + checkpoint + 2 steps equals a resumed run (parameters and metrics)', async () => {
    const ckpt = path.join(work, 'ckpt'); const straight = path.join(work, 'straight'); const resumed = path.join(work, 'resumed');
    const a = await NativeMlmModel.load(modelDir);
    const after: number[][] = [];
    try {
      const t = NativeTrainer.create(a, config);
      await t.trainStep(fixtureBatch(fx));
      await t.trainStep(fixtureBatch(fx));
      await t.saveCheckpoint(ckpt);
      for (let i = 0; i < 2; i++) { const m = await t.trainStep(fixtureBatch(fx)); after.push([m.loss, m.lambda, m.lr, m.step]); }
      await a.save(straight);
    } finally {
      a.dispose();
    }
    assert.ok(fs.existsSync(path.join(ckpt, 'optimizer.pt')));
    // Resume: a model loaded from the original weights (overwritten by the checkpoint) and a new trainer.
    const b = await NativeMlmModel.load(modelDir);
    const resumedMetrics: number[][] = [];
    try {
      const t = NativeTrainer.create(b, config);
      assert.equal(await t.loadCheckpoint(ckpt), 2);
      for (let i = 0; i < 2; i++) { const m = await t.trainStep(fixtureBatch(fx)); resumedMetrics.push([m.loss, m.lambda, m.lr, m.step]); }
      await b.save(resumed);
    } finally {
      b.dispose();
    }
    assert.deepEqual(resumedMetrics, after);
    assert.ok(bytes(straight).equals(bytes(resumed)), 'resumed parameters differ from the uninterrupted run');
  });

  it('between accumulation micro-steps: parameters untouched, and saving the optimizer state is refused', async () => {
    const m = await NativeMlmModel.load(modelDir);
    try {
      const t = NativeTrainer.create(m, { ...config, gradAccumulation: 2, warmupSteps: 0 });
      const r = await t.trainStep(fixtureBatch(fx, { toQuery: 2 }));
      assert.equal(r.optimizerStepped, false);
      await m.save(path.join(work, 'micro'));
      await NativeMlmModel.load(modelDir).then(async (fresh) => {
        await fresh.save(path.join(work, 'micro-fresh'));
        fresh.dispose();
      });
      assert.ok(bytes(path.join(work, 'micro')).equals(bytes(path.join(work, 'micro-fresh'))), 'a micro-step changed parameters');
      await assert.rejects(t.saveCheckpoint(path.join(work, 'micro-ckpt')), /between optimizer steps \(1 accumulated micro-batches pending\)/);
      const s = await t.trainStep(fixtureBatch(fx, { fromQuery: 2 }));
      assert.equal(s.optimizerStepped, true);
      await t.saveCheckpoint(path.join(work, 'micro-ckpt'));
    } finally {
      m.dispose();
    }
  });

  it('without the optimizer state (weights only) the continuation differs, so the check above has teeth', async () => {
    const ckpt = path.join(work, 'ckpt');
    const c = await NativeMlmModel.load(path.join(ckpt));
    const out = path.join(work, 'weights-only');
    try {
      const t = NativeTrainer.create(c, config);
      for (let i = 0; i < 2; i++) await t.trainStep(fixtureBatch(fx));
      await c.save(out);
    } finally {
      c.dispose();
    }
    assert.ok(!bytes(out).equals(bytes(path.join(work, 'straight'))));
  });
});
