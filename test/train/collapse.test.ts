import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NativeMlmModel } from '../../lib/model/native-model';
import { CollapseDetector, collapseSymptoms, equalScoresLoss, TrainingCollapsedError } from '../../lib/train/collapse';
import { normalizeTrainConfig } from '../../lib/train/config';
import { NativeTrainer, type TrainMetrics, type TrainStepConfig } from '../../lib/train/native-trainer';
import { runTraining } from '../../lib/train/run';
import { sharedData } from '../helpers';
import { FIXTURES, distilbertCopy, fixtureBatch, readTrainFixture, tempDir } from './native-trainer-fixture';
import { CLI, GROUPS, tinyRun } from './tiny-run';

/** One optimizer step's metrics; what a test does not set is healthy. */
function metrics(step: number, m: Partial<TrainMetrics> = {}): TrainMetrics {
  return {
    loss: 1, rankingLoss: 1, regularizerLoss: 1, lambda: 0.04, lr: 1e-3, meanDocNnz: 300, batchFlops: 1, maskRate: 0,
    gradNorm: 0.5, seconds: 0.1, threads: 1, step, optimizerStepped: true, ...m,
  };
}

describe('train: collapse detection', () => {
  describe('on recorded metrics', () => {
    // The user's 300-step InfoNCE run (16 queries × 2 docs = 32 candidates): nonzeros fell 1,400 → 338 → 37 → 14,
    // then from step 210 the gradient norm was exactly 0 and the loss exactly ln 32 until the end.
    const ln32 = { value: Math.log(32), meaning: 'ln 32' };
    const recorded = (step: number): TrainMetrics => {
      if (step < 210) return metrics(step, { meanDocNnz: step < 70 ? 1400 : step < 140 ? 338 : step < 180 ? 37 : 14, rankingLoss: 2.1, gradNorm: 0.8 });
      return metrics(step, { meanDocNnz: 14, rankingLoss: 3.4657359, gradNorm: 0 });
    };

    it('reports the collapse after `patience` symptomatic steps in a row, naming the step and the symptoms', () => {
      const detector = new CollapseDetector(3, 1);
      let found = null;
      for (let step = 1; step <= 300 && !found; step++) found = detector.observe(recorded(step), ln32);
      assert.deepEqual(found && { firstStep: found.firstStep, step: found.step }, { firstStep: 210, step: 212 });
      assert.equal(found!.symptoms.length, 2);
      assert.match(found!.symptoms[0], /^gradient norm 0$/);
      assert.match(found!.symptoms[1], /^ranking loss 3\.4657 = ln 32 \(3\.4657\), every score equal$/);
    });

    it('lets a passing symptom go, and with patience 1 stops at the first', () => {
      const detector = new CollapseDetector(3, 1);
      const steps = [metrics(1), metrics(2, { gradNorm: 0 }), metrics(3, { gradNorm: 0 }), metrics(4), metrics(5, { meanDocNnz: 0.5 }),
        metrics(6, { gradNorm: Number.NaN }), metrics(7)];
      assert.deepEqual(steps.map((m) => detector.observe(m, ln32)), steps.map(() => null));
      assert.equal(detector.suspect, false);
      const eager = new CollapseDetector(1, 1);
      assert.deepEqual(eager.observe(metrics(9, { meanDocNnz: 0 }), null), { firstStep: 9, step: 9, symptoms: ['mean document nonzeros 0.00 < 1'] });
    });

    it('tells symptoms from healthy values', () => {
      assert.deepEqual(collapseSymptoms(metrics(1), ln32, 1), []);
      assert.deepEqual(collapseSymptoms(metrics(1, { gradNorm: Infinity }), null, 1), ['gradient norm Infinity']);
      // Accumulation micro-steps report a gradient norm of 0 that means nothing.
      assert.deepEqual(collapseSymptoms(metrics(1, { gradNorm: 0, optimizerStepped: false }), null, 1), []);
      // Within 1e-4 (relative to max(1, ln 32)) of ln 32 is equal scores; 3e-4 away is not.
      assert.equal(collapseSymptoms(metrics(1, { rankingLoss: Math.log(32) - 3e-4 }), ln32, 1).length, 1);
      assert.equal(collapseSymptoms(metrics(1, { rankingLoss: Math.log(32) - 1e-3 }), ln32, 1).length, 0);
      // Equal scores that are optimal (a uniform teacher: KL 0) are no symptom; a floor of 0 turns the nnz check off.
      assert.deepEqual(collapseSymptoms(metrics(1, { rankingLoss: 0 }), { value: 0, meaning: 'x' }, 1), []);
      assert.deepEqual(collapseSymptoms(metrics(1, { meanDocNnz: 0 }), null, 0), []);
      assert.throws(() => new CollapseDetector(0, 1), /patience must be an integer >= 1/);
    });
  });

  describe('equal-scores losses against the native trainer', () => {
    let work: string;
    let modelDir: string;
    before(function () {
      if (!fs.existsSync(path.join(FIXTURES, 'train', 'st-splade-loss.json'))) this.skip();
      work = tempDir('collapse');
      modelDir = distilbertCopy(path.join(work, 'model'));
    });
    after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

    // Queries without tokens score every document 0: the native losses then take their all-equal-scores values.
    for (const step of [{ loss: 'kl' }, { loss: 'kl', temperature: 2 }, { loss: 'margin_mse' }, { loss: 'info_nce' }] as TrainStepConfig[]) {
      it(`${step.loss}${step.temperature ? ` (T = ${step.temperature})` : ''}: the loss of empty queries is equalScoresLoss, and a symptom`, async () => {
        const fx = readTrainFixture();
        const batch = fixtureBatch(fx);
        const Q = fx.queries.length;
        batch.queries = { indptr: new Int32Array(Q + 1), indices: new Int32Array(0), values: new Float32Array(0), numCols: 30522 };
        const model = await NativeMlmModel.load(modelDir);
        try {
          const trainer = NativeTrainer.create(model, { ...step, lr: 0, warmupSteps: 0, lambda: 0, lambdaWarmup: 0 });
          const m = await trainer.trainStep(batch);
          const equal = equalScoresLoss(step, { candidates: Q * fx.groupSize, groupSize: fx.groupSize, teacher: batch.teacher });
          assert.ok(equal && equal.value > 0.01, `equal-scores loss ${equal?.value}`);
          assert.ok(Math.abs(m.rankingLoss - equal.value) <= 1e-6 * Math.max(1, equal.value), `native ${m.rankingLoss} vs ${equal.value}`);
          // No score depends on a parameter and λ = 0: the gradient is exactly 0.
          assert.deepEqual(collapseSymptoms(m, equal, 1).map((s) => s.split(' ')[0]), ['gradient', 'ranking']);
        } finally {
          model.dispose();
        }
      });
    }
  });

  describe('in training runs', function () {
    this.timeout(300_000);
    const data = sharedData();
    let tmp: string;
    let tokenizer: string;
    before(function () {
      if (!data) { console.log('      skipped: ../shared/data (bert-base-uncased tokenizer) not found'); this.skip(); }
      tokenizer = path.join(data!, 'bert-base-uncased', 'tokenizer.json');
    });
    beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-collapse-')); });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    // λ = 1000 on plain FLOPS from step 0, at a high learning rate: the regularizer drives every document weight
    // below zero within a few steps, after which InfoNCE sits at ln(4 queries × 2 docs) = ln 8.
    const collapsing = (output: string, extra: Record<string, unknown> = {}) => tinyRun(output, tokenizer, {
      data: { jsonl: GROUPS, teacher: 'none' }, steps: 12,
      step: { loss: 'info_nce', lr: 0.05, warmupSteps: 0, lambda: 1000, lambdaWarmup: 0, threshold: -1 },
      ...extra,
    });

    it('stops a collapsing run with the step, the symptoms and the last good checkpoint named, and saves no model', async () => {
      const output = path.join(tmp, 'dead');
      const seen: TrainMetrics[] = [];
      const err = await runTraining(normalizeTrainConfig(collapsing(output)), { progress: false, onStep: (m) => seen.push(m) })
        .then(() => null, (e: unknown) => e);
      assert.ok(err instanceof TrainingCollapsedError, `expected a TrainingCollapsedError, got ${err}`);
      const { firstStep, step } = err.collapse;
      assert.equal(step, firstStep + 2, 'default patience 3');
      assert.equal(seen.at(-1)!.step, step, 'no step after the collapse');
      assert.ok(step < 12, `stopped at ${step} of 12`);
      for (const m of seen.slice(firstStep - 1)) assert.ok(Math.abs(m.rankingLoss - Math.log(8)) <= 1e-4 * Math.log(8), `step ${m.step}: ${m.rankingLoss}`);
      assert.match(err.message, new RegExp(`^training collapsed at step ${step}: (.*; )?ranking loss 2\\.0794 = ln 8 \\(2\\.0794\\), every score equal`));
      assert.match(err.message, new RegExp(`3 steps in a row, since step ${firstStep}\\).* the model was not saved`));
      assert.ok(!fs.existsSync(path.join(output, 'model')), 'a model folder was written');
      // Checkpoints hold parameters one step behind the metrics logged with their step: only those before
      // firstStep - 1 are good, and none inside the symptoms was written.
      const good = err.lastGoodCheckpoint;
      const checkpoints = fs.readdirSync(path.join(output, 'checkpoints')).map((n) => Number(n.slice(5)));
      assert.ok(checkpoints.every((c) => c < firstStep), `checkpoints ${checkpoints}`);
      if (good) {
        assert.ok(good.step <= firstStep - 2);
        assert.match(err.message, new RegExp(`The last good checkpoint is .*step-0*${good.step} \\(step ${good.step}\\)`));
      } else {
        assert.match(err.message, /No checkpoint/);
      }
      const log = fs.readFileSync(path.join(output, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(log.at(-1), { step, collapse: err.collapse });
    });

    it('l0sparse train exits with the collapse on stderr and no model', () => {
      const output = path.join(tmp, 'cli');
      const file = path.join(tmp, 'cli.json');
      fs.writeFileSync(file, JSON.stringify(collapsing(output)));
      const r = spawnSync(process.execPath, [CLI, 'train', '--config', file, '--no-progress'], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /training collapsed at step \d+: .*ranking loss 2\.0794 = ln 8.*the model was not saved\. The last good checkpoint is /);
      assert.ok(!fs.existsSync(path.join(output, 'model')));
    });

    it('with stopOnCollapse false warns, records the collapse and finishes', async () => {
      const output = path.join(tmp, 'on');
      const result = await runTraining(normalizeTrainConfig(collapsing(output, { steps: 9, stopOnCollapse: false })), { progress: false });
      assert.ok(result.collapse && result.collapse.step < 9);
      assert.equal(result.steps, 9);
      assert.ok(fs.existsSync(path.join(output, 'model', 'model.safetensors')));
      // Collapse settings are not pinned: the same run with detection on is not "a different configuration".
      const pinned = JSON.parse(fs.readFileSync(path.join(output, 'train-config.json'), 'utf8')) as Record<string, unknown>;
      for (const key of ['stopOnCollapse', 'collapsePatience', 'collapseMinDocNnz']) assert.ok(!(key in pinned), key);
      const again = await runTraining(normalizeTrainConfig(collapsing(output, { steps: 9, collapsePatience: 2 })), { progress: false });
      assert.deepEqual([again.resumedFrom, again.steps], [9, 9]);
    });

    it('a healthy tiny run triggers nothing, with run-relative warm-ups and unseen query tokens at 1.0', async () => {
      const output = path.join(tmp, 'healthy');
      const seen: TrainMetrics[] = [];
      // The tiny run without warm-up settings: 8 steps give 6% → 0 → 1 LR warm-up step and λ warm-up T = 1.
      const raw = tinyRun(output, tokenizer, { step: { lr: 0.003, lambda: 0.01, threshold: 50 } });
      const result = await runTraining(normalizeTrainConfig(raw, undefined, { warn: (l) => assert.fail(`unexpected warning ${l}`) }),
        { progress: false, onStep: (m) => seen.push(m) });
      assert.equal(result.collapse, null);
      assert.ok(result.modelDir && fs.existsSync(path.join(result.modelDir, 'model.safetensors')));
      const pinned = JSON.parse(fs.readFileSync(path.join(output, 'train-config.json'), 'utf8'));
      assert.equal(pinned.step.warmupSteps, 1);
      assert.equal(pinned.step.lambdaWarmup, 1);
      assert.equal(pinned.idfUnseen, 'default-1');
      // The native schedule ran with them: full λ from the first step, the peak LR (then decay) from the second.
      assert.equal(seen[0].lambda, 0.01);
      assert.equal(seen[0].lr, 0);
      assert.ok(Math.abs(seen[1].lr - 0.003) < 1e-12, `lr at step 2: ${seen[1].lr}`);
      // IDF computed on the 16 training documents leaves every other token out; the model's query side gives them 1.0.
      const idf = JSON.parse(fs.readFileSync(path.join(output, 'idf.json'), 'utf8')) as Record<string, number>;
      assert.ok(Object.keys(idf).length < 300, `${Object.keys(idf).length} tokens`);
      assert.equal(idf.zebra, undefined);
      const effective = JSON.parse(fs.readFileSync(path.join(result.modelDir!, 'idf.json'), 'utf8')) as Record<string, number>;
      assert.equal(effective.zebra, 1);
      assert.ok(idf.the > 0 && effective.the === Math.fround(idf.the), `the: ${idf.the} vs ${effective.the}`);
    });
  });
});
