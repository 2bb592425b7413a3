import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadNative } from '../../lib/native/loader';
import { getNumThreads } from '../../lib/native/threads';
import { normalizeTrainConfig } from '../../lib/train/config';
import type { ProcessGroup } from '../../lib/train/distributed';
import { runTraining } from '../../lib/train/run';
import { sharedData } from '../helpers';
import { CLI, tinyRun as tinierRun } from './tiny-run';

/** 2 steps, one checkpoint kept: these tests compare runs, they do not need a long one. */
function tinyRun(output: string, tokenizer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return tinierRun(output, tokenizer, {
    steps: 2, keepCheckpoints: 1, step: { lr: 0.003, warmupSteps: 1, lambda: 0.01, lambdaWarmup: 2, threshold: 50 }, ...extra,
  });
}

// The training side of the device option on a machine without a GPU: the config key is checked like every other,
// 'cpu' spelled out trains bit for bit like the default and is not pinned into the run folder, CUDA is refused
// with the reason (no GPU, or data parallel), and the CLI flag reaches the config.

describe('training: device option (CPU machine)', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-train-device-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("validates 'device' like every other key", () => {
    const base = tinyRun('/tmp/x', '/tmp/tok.json');
    assert.equal(normalizeTrainConfig(base).device, undefined);
    for (const device of ['cpu', 'cuda', 'cuda:0', 'cuda:3']) assert.equal(normalizeTrainConfig({ ...base, device }).device, device);
    for (const device of ['gpu', 'cuda:-1', 'cuda:x', 'CPU', '']) {
      assert.throws(() => normalizeTrainConfig({ ...base, device }), /train config: 'device' '.*' is not a device name: expected 'cpu', 'cuda' or 'cuda:N'/);
    }
    for (const device of [42, true, null, { type: 'cuda' }]) {
      assert.throws(() => normalizeTrainConfig({ ...base, device }), /train config: 'device' must be a string/);
    }
    // The device is a run option, not a step knob: the native step config rejects it as unknown.
    assert.throws(() => normalizeTrainConfig({ ...base, step: { device: 'cpu' } }), /unknown key 'step.device'/);
  });

  it("device 'cpu' trains like the default, bit for bit, and is not pinned (a run may resume on another device)", async function () {
    const data = sharedData();
    if (!data) { console.log('      skipped: ../shared/data (bert-base-uncased tokenizer) not found'); this.skip(); }
    this.timeout(120000);
    const tokenizer = path.join(data!, 'bert-base-uncased', 'tokenizer.json');
    const threadsBefore = getNumThreads();
    const plain = await runTraining(normalizeTrainConfig(tinyRun(path.join(tmp, 'plain'), tokenizer, { threads: threadsBefore + 1 })), { progress: false });
    // The run's thread count held for the run only (later tests in this process must not inherit it).
    assert.equal(getNumThreads(), threadsBefore);
    const cpu = await runTraining(normalizeTrainConfig(tinyRun(path.join(tmp, 'cpu'), tokenizer, { device: 'cpu', threads: threadsBefore + 1 })), { progress: false });
    assert.equal(plain.steps, 2);
    assert.equal(cpu.device, 'cpu');
    assert.equal(cpu.lastMetrics?.loss, plain.lastMetrics?.loss);
    const weights = (run: string) => fs.readFileSync(path.join(tmp, run, 'model', 'model.safetensors'));
    assert.ok(weights('cpu').equals(weights('plain')), "device 'cpu' changed the trained parameters");
    const pinned = JSON.parse(fs.readFileSync(path.join(tmp, 'cpu', 'train-config.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(!('device' in pinned), 'the device was pinned into train-config.json');
    // The same folder continues without a device (or another one): not "a different configuration".
    const again = await runTraining(normalizeTrainConfig(tinyRun(path.join(tmp, 'cpu'), tokenizer, { threads: threadsBefore + 1 })), { progress: false });
    assert.equal(again.resumedFrom, 2);
  });

  it('refuses CUDA without a GPU, and for data-parallel runs, before doing any work', async function () {
    const config = normalizeTrainConfig(tinyRun(path.join(tmp, 'dp'), path.join(tmp, 'no-tokenizer.json'), { device: 'cuda:1' }));
    const twoRanks = { rank: 0, worldSize: 2 } as unknown as ProcessGroup;
    await assert.rejects(runTraining(config, { progress: false, processGroup: twoRanks }),
      /data-parallel training \(2 ranks\) .* Gloo on CPU tensors and does not support device 'cuda:1'.*DISTRIBUTED\.md/);
    assert.ok(!fs.existsSync(path.join(tmp, 'dp')), 'the refused run wrote its folder');
    if (loadNative().buildInfo().cudaAvailable) return;
    const data = sharedData();
    if (!data) return;
    const tokenizer = path.join(data, 'bert-base-uncased', 'tokenizer.json');
    const cli = spawnSync(process.execPath, [CLI, 'train', '--config', writeConfig(tmp, tinyRun(path.join(tmp, 'gpu'), tokenizer)),
      '--device', 'cuda', '--no-progress'], { encoding: 'utf8' });
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /device 'cuda': this l0sparse build is the CPU variant|device 'cuda': .*no CUDA GPU is usable/);
    assert.doesNotMatch(cli.stderr, /Segmentation|Aborted|terminate called/);
    const bad = spawnSync(process.execPath, [CLI, 'train', '--config', writeConfig(tmp, tinyRun(path.join(tmp, 'gpu'), tokenizer)),
      '--device', 'gpu', '--no-progress'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /'device' 'gpu' is not a device name/);
  });
});

function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = path.join(dir, 'run.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}
