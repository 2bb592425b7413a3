import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { normalizeTrainConfig } from '../../lib/train/config';
import { readTrainingJsonl } from '../../lib/train/data';
import { heldOutEvaluation } from '../../lib/train/held-out-eval';
import { configDifferences, pinConfig } from '../../lib/train/pinned-config';
import { runTraining } from '../../lib/train/run';
import { GroupSchedule } from '../../lib/train/schedule';
import { sharedData } from '../helpers';
import { CLI, GROUPS, tinyRun } from './tiny-run';

describe('training runs', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-train-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('rejects unknown or inconsistent config keys with the key named', () => {
    const base = tinyRun('/tmp/x', '/tmp/tok.json');
    assert.throws(() => normalizeTrainConfig({ ...base, stepz: 3 }), /unknown key 'stepz'/);
    assert.throws(() => normalizeTrainConfig({ ...base, data: { jsonl: GROUPS, negatve: 2 } }), /unknown key 'data.negatve'/);
    assert.throws(() => normalizeTrainConfig({ ...base, step: { lamda: 0.1 } }), /unknown key 'step.lamda'/);
    assert.throws(() => normalizeTrainConfig({ ...base, init: { ...(base.init as object), layers: 2 } }), /unknown key 'init.layers'/);
    assert.throws(() => normalizeTrainConfig({ ...base, data: { jsonl: GROUPS, teacher: 'none' }, step: { loss: 'kl' } }), /needs teacher scores/);
    assert.throws(() => normalizeTrainConfig({ ...base, steps: 0 }), /'steps' must be an integer >= 1/);
    const cfg = normalizeTrainConfig(base);
    assert.equal(cfg.step.loss, 'kl');
    assert.equal(cfg.step.totalSteps, 8);
  });

  it('rejects training groups of unequal size and missing teacher scores, naming the line', async () => {
    const file = path.join(tmp, 'bad.jsonl');
    fs.writeFileSync(file, '{"query":"a b","docs":["x y","z"],"scores":[1,0]}\n{"query":"c","docs":["x","y","z"],"scores":[1,0,0]}\n');
    await assert.rejects(readTrainingJsonl(file, { teacher: 'data' }), /:2: .*group of 3 docs, but the first group has 2/);
    fs.writeFileSync(file, '{"query":"a b","docs":["x y","z"]}\n');
    await assert.rejects(readTrainingJsonl(file, { teacher: 'data' }), /:1: no 'scores'/);
    fs.writeFileSync(file, '{"query":"a b","docs":["x y",""],"scores":[1,0]}\n');
    await assert.rejects(readTrainingJsonl(file, { teacher: 'data' }), /docs\[1\] is empty/);
  });

  it('refuses to resume a folder pinned with another config, naming each differing key and both values', () => {
    const base = tinyRun(path.join(tmp, 'pinned'), '/tmp/tok.json');
    pinConfig(normalizeTrainConfig(base));
    pinConfig(normalizeTrainConfig(base));  // the same config resumes
    const changed = { ...base, steps: 9, step: { ...(base.step as object), lr: 0.004 } };
    assert.throws(() => pinConfig(normalizeTrainConfig(changed)),
      (e: Error) => /different configuration/.test(e.message) && /steps: pinned 8, now 9/.test(e.message) &&
        /step\.lr: pinned 0\.003, now 0\.004/.test(e.message));
    assert.deepEqual(configDifferences({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3, d: true } }), ['b.c: pinned 2, now 3', 'b.d: pinned not set, now true']);
  });

  it('schedules the same groups for a step however the run got there', () => {
    const a = new GroupSchedule(10, 5);
    const b = new GroupSchedule(10, 5);
    const stream = Array.from({ length: 7 }, (_, s) => a.batch(s, 4));
    assert.deepEqual(b.batch(5, 4), stream[5]);
    // Each epoch is a permutation: 10 consecutive slots cover every group once.
    assert.deepEqual([...stream.flat().slice(0, 10)].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('resumes after kill -9 to exactly the parameters of an uninterrupted run', async function () {
    const data = sharedData();
    if (!data) { console.log('      skipped: ../shared/data (bert-base-uncased tokenizer) not found'); this.skip(); }
    this.timeout(300000);
    const tokenizer = path.join(data!, 'bert-base-uncased', 'tokenizer.json');
    const write = (name: string) => {
      const file = path.join(tmp, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(tinyRun(path.join(tmp, name), tokenizer)));
      return file;
    };
    const whole = spawnSync(process.execPath, [CLI, 'train', '--config', write('whole'), '--no-progress'], { encoding: 'utf8' });
    assert.equal(whole.status, 0, whole.stderr);

    const killedConfig = write('killed');
    // Killed right after step 5's update: checkpoint 4 is on disk, 6 never started (a deterministic crash point;
    // polling for the checkpoint folder from here raced the child on a loaded machine).
    const killed = spawnSync(process.execPath, [path.join(__dirname, 'kill-train-child.js'), killedConfig, '5'], { encoding: 'utf8' });
    assert.equal(killed.signal, 'SIGKILL', `the child was not killed: ${killed.stdout}${killed.stderr}`);
    assert.ok(!fs.existsSync(path.join(tmp, 'killed', 'model')), 'the killed run did not finish');
    const resumed = spawnSync(process.execPath, [CLI, 'train', '--config', killedConfig, '--no-progress', '--json'], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    const result = JSON.parse(resumed.stdout) as { resumedFrom: number; steps: number };
    assert.equal(result.resumedFrom, 4, `resumed from ${result.resumedFrom}`);
    assert.equal(result.steps, 8);
    const a = fs.readFileSync(path.join(tmp, 'whole', 'model', 'model.safetensors'));
    const b = fs.readFileSync(path.join(tmp, 'killed', 'model', 'model.safetensors'));
    assert.ok(a.equals(b), 'resumed parameters differ from the uninterrupted run');
    const c = fs.readFileSync(path.join(tmp, 'whole', 'checkpoints', 'step-00000008', 'optimizer.pt'));
    assert.ok(c.length > 0);
  });

  it('a tiny model trained on SciFact train lowers the loss and raises nDCG@10 on held-out train queries', async function () {
    const data = sharedData();
    if (!data) { console.log('      skipped: ../shared/data not found'); this.skip(); }
    this.timeout(600000);
    const config = normalizeTrainConfig({
      output: path.join(tmp, 'scifact'), tokenizer: path.join(data!, 'bert-base-uncased', 'tokenizer.json'),
      init: { architecture: 'distilbert', hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 128, bagOfWords: false },
      data: { beir: path.join(data!, 'scifact'), split: 'train', negatives: 1, holdOut: 60 },
      steps: 200, queriesPerStep: 8, maxLength: 64, checkpointEvery: 200, evalEvery: 200, seed: 1,
      step: { loss: 'info_nce', lr: 0.002, warmupSteps: 20, lambda: 0.0005, lambdaWarmup: 100, threshold: 200 },
    });
    const losses: number[] = [];
    const result = await runTraining(config, {
      progress: false, onStep: (m) => losses.push(m.rankingLoss), onEval: heldOutEvaluation({ maxCorpus: 600 }),
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 30));
    const last = mean(losses.slice(-30));
    const before = result.evaluations[0].metrics.ndcg10;
    const after = result.evaluations.at(-1)!.metrics.ndcg10;
    console.log(`      ranking loss ${first.toFixed(3)} -> ${last.toFixed(3)}; held-out nDCG@10 ${before.toFixed(4)} -> ${after.toFixed(4)}`);
    assert.equal(result.evaluations[0].step, 0);
    assert.ok(last < first * 0.9, `loss did not drop: ${first} -> ${last}`);
    assert.ok(after > before + 0.02, `nDCG@10 did not rise: ${before} -> ${after}`);
  });
});
