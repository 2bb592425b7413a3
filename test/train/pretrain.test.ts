/**
 * Masked-LM pretraining: the native loss against transformers' own (fixtures made by
 * scripts/fixtures/make_mlm_fixtures.py), BERT's masking rule, bad batches at the N-API boundary, and the
 * resumable run (`runPretraining`): an interrupted and resumed run ends with the same bytes as an uninterrupted
 * one, and a run on a small text learns to predict it.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { buildProgram } from '../../lib/cli/main';
import { NativeMlmModel } from '../../lib/model/native-model';
import { maskForMlm, NOT_PREDICTED } from '../../lib/train/mlm-masking';
import { NativeTrainer, type MlmBatch } from '../../lib/train/native-trainer';
import { runPretraining, type PretrainConfig } from '../../lib/train/pretrain';
import { padRows } from '../../lib/tokenizer/padding';
import { rng, sharedData } from '../helpers';
import { FIXTURES, tempDir } from './native-trainer-fixture';

interface MlmFixture {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  loss: number;
  accuracy: number;
  grad_norm: number;
}

/** A copy of a model fixture with every dropout rate 0 (the training step runs in train mode). */
function fixtureCopy(arch: 'bert' | 'distilbert', dir: string): string {
  const src = path.join(FIXTURES, 'models', arch);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(src, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['hidden_dropout_prob', 'attention_probs_dropout_prob', 'dropout', 'attention_dropout']) {
    if (key in config) config[key] = 0;
  }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

function fixtureBatch(fx: MlmFixture): MlmBatch {
  const docs = padRows(fx.input_ids.map((row, b) => row.slice(0, fx.attention_mask[b].reduce((s, v) => s + v, 0))), 0);
  assert.deepEqual(Array.from(docs.inputIds), fx.input_ids.flat());
  return { docs, labels: Int32Array.from(fx.labels.flat()) };
}

describe('masked-LM pretraining', function () {
  this.timeout(120_000);

  for (const arch of ['bert', 'distilbert'] as const) {
    it(`the ${arch} loss, accuracy and gradient norm equal transformers' masked-LM loss`, async () => {
      const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models', arch, 'mlm-loss.json'), 'utf8')) as MlmFixture;
      const model = await NativeMlmModel.load(fixtureCopy(arch, tempDir(`mlm-${arch}`)));
      // maxGradNorm 0: no clipping, so the reported norm is the loss gradient's own.
      const trainer = NativeTrainer.create(model, { lr: 1e-3, warmupSteps: 0, totalSteps: 10, maxGradNorm: 0 });
      const m = await trainer.mlmStep(fixtureBatch(fx));
      assert.ok(Math.abs(m.loss - fx.loss) <= 1e-5 * fx.loss, `loss ${m.loss} vs transformers ${fx.loss}`);
      assert.ok(Math.abs(m.gradNorm - fx.grad_norm) <= 1e-4 * fx.grad_norm, `grad norm ${m.gradNorm} vs ${fx.grad_norm}`);
      assert.equal(m.accuracy, fx.accuracy);
      assert.equal(m.predicted, fx.labels.flat().filter((l) => l !== NOT_PREDICTED).length);
      assert.equal(m.step, 1);
      // The step changed the parameters: the same batch now has a lower loss.
      const again = await trainer.mlmStep(fixtureBatch(fx));
      assert.ok(again.loss < m.loss, `loss after a step ${again.loss} ≥ ${m.loss}`);
      model.dispose();
    });
  }

  it('masks as BERT does: real non-special tokens only, 80% [MASK] / 10% random / 10% kept, all predicted', () => {
    const special = new Set([0, 101, 102, 103]);
    const rows = Array.from({ length: 64 }, (_, r) => [101, ...Array.from({ length: 40 + (r % 20) }, (_, i) => 1000 + ((r * 31 + i * 7) % 500)), 102]);
    const docs = padRows(rows, 0);
    const opts = { probability: 0.15, maskId: 103, vocabSize: 2000, isSpecial: (id: number) => special.has(id) };
    const a = maskForMlm(docs, { ...opts, random: rng(7) });
    const b = maskForMlm(docs, { ...opts, random: rng(7) });
    assert.deepEqual(a, b, 'same seed, same masks');
    let predicted = 0; let masked = 0; let replaced = 0; let kept = 0; let eligible = 0;
    for (let i = 0; i < docs.inputIds.length; i++) {
      const original = docs.inputIds[i];
      const real = docs.attentionMask[i] !== 0 && !special.has(original);
      if (real) eligible++;
      if (a.labels[i] === NOT_PREDICTED) {
        assert.equal(a.docs.inputIds[i], original, 'an unpredicted token is unchanged');
        continue;
      }
      assert.ok(real, `position ${i} (id ${original}, mask ${docs.attentionMask[i]}) was chosen`);
      assert.equal(a.labels[i], original);
      predicted++;
      const input = a.docs.inputIds[i];
      if (input === 103) masked++;
      else if (input === original) kept++;
      else { replaced++; assert.ok(!special.has(input) && input >= 0 && input < 2000); }
    }
    assert.ok(Math.abs(predicted / eligible - 0.15) < 0.02, `predicted share ${predicted / eligible}`);
    assert.ok(Math.abs(masked / predicted - 0.8) < 0.05, `[MASK] share ${masked / predicted}`);
    assert.ok(Math.abs(replaced / predicted - 0.1) < 0.04 && Math.abs(kept / predicted - 0.1) < 0.04, `random ${replaced}, kept ${kept} of ${predicted}`);
    assert.deepEqual(a.docs.attentionMask, docs.attentionMask);
    // A one-token batch still predicts one token.
    const tiny = maskForMlm(padRows([[101, 1500, 102]], 0), { ...opts, probability: 0.01, random: rng(1) });
    assert.deepEqual(Array.from(tiny.labels), [NOT_PREDICTED, 1500, NOT_PREDICTED]);
  });

  it('refuses bad batches with an error and leaves the parameters untouched', async () => {
    const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models', 'bert', 'mlm-loss.json'), 'utf8')) as MlmFixture;
    const model = await NativeMlmModel.load(fixtureCopy('bert', tempDir('mlm-bad')));
    const trainer = NativeTrainer.create(model, { lr: 1e-3 });
    const good = fixtureBatch(fx);
    const withLabels = (edit: (labels: Int32Array) => void): MlmBatch => {
      const labels = Int32Array.from(good.labels);
      edit(labels);
      return { docs: good.docs, labels };
    };
    const padding = fx.attention_mask.flat().indexOf(0);
    const cases: [string, MlmBatch, RegExp][] = [
      ['no predicted position', withLabels((l) => l.fill(NOT_PREDICTED)), /no position is masked/],
      ['a label outside the vocabulary', withLabels((l) => { l[1] = 30522; }), /token ids in \[0, 30522\)/],
      ['a predicted padding position', withLabels((l) => { l[padding] = 5; }), /padding/],
      ['labels of the wrong length', { docs: good.docs, labels: good.labels.subarray(1) }, /labels has \d+ entries/],
      ['labels not an Int32Array', { docs: good.docs, labels: Float32Array.from(good.labels) as unknown as Int32Array }, /Int32Array/],
      ['docs missing', { labels: good.labels } as unknown as MlmBatch, /token batch/],
    ];
    for (const [what, batch, message] of cases) {
      await assert.rejects(trainer.mlmStep(batch), message, what);
    }
    const m = await trainer.mlmStep(good);
    assert.equal(m.step, 1, 'no bad batch took an optimizer step');
    model.dispose();
  });

  const data = sharedData();
  const tokenizer = data && path.join(data, 'bert-base-uncased', 'tokenizer.json');
  function smallRun(output: string, text: string, steps: number): PretrainConfig {
    return {
      text: [text], output, tokenizer: tokenizer!, steps, batchSize: 8, maxLength: 32, mlmProbability: 0.15, lr: 3e-3,
      weightDecay: 0.01, maxGradNorm: 1, bf16: false, checkpointEvery: 2, keepCheckpoints: 2, seed: 3,
      init: { architecture: 'bert', hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, bagOfWords: false },
    };
  }
  function writeText(dir: string, lines: string[]): string {
    const file = path.join(dir, 'text.txt');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  it('a run stopped and resumed ends with the same model bytes as an uninterrupted run', async function () {
    if (!tokenizer) this.skip();
    const dir = tempDir('pretrain-resume');
    const text = writeText(dir, Array.from({ length: 30 }, (_, i) => `document ${i} says the protein binds receptor ${i % 7} in cells of type ${i % 3}`));
    const whole = await runPretraining(smallRun(path.join(dir, 'whole'), text, 6), { progress: false });
    assert.equal(whole.steps, 6);
    const part = await runPretraining(smallRun(path.join(dir, 'split'), text, 6), { progress: false, stopAfterStep: 3 });
    assert.equal(part.modelDir, null);
    const rest = await runPretraining(smallRun(path.join(dir, 'split'), text, 6), { progress: false });
    assert.equal(rest.resumedFrom, 2, 'resumed from the newest checkpoint (every 2 steps)');
    const bytes = (run: string) => fs.readFileSync(path.join(dir, run, 'model', 'model.safetensors'));
    assert.ok(bytes('whole').equals(bytes('split')), 'resumed run reached other parameters');
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(fs.existsSync(path.join(dir, 'whole', 'model', f)), f);
    // The folder is pinned to its config.
    await assert.rejects(runPretraining({ ...smallRun(path.join(dir, 'whole'), text, 6), lr: 1e-2 }, { progress: false }), /lr: pinned 0.003, now 0.01/);
  });

  it('learns to predict a small text (loss falls well below its start)', async function () {
    if (!tokenizer) this.skip();
    const dir = tempDir('pretrain-learn');
    const text = writeText(dir, Array.from({ length: 16 }, () => 'the quick brown fox jumps over the lazy dog near the river bank'));
    const losses: number[] = [];
    const r = await runPretraining({ ...smallRun(path.join(dir, 'run'), text, 150), lr: 5e-3, checkpointEvery: 200 }, {
      progress: false, onStep: (m) => losses.push(m.loss),
    });
    const first = losses.slice(0, 5).reduce((s, v) => s + v, 0) / 5;
    const last = losses.slice(-5).reduce((s, v) => s + v, 0) / 5;
    assert.ok(first > 9, `start ${first} (≈ ln 30522 = 10.3 for a random model)`);
    assert.ok(last < first / 4, `loss ${first.toFixed(2)} → ${last.toFixed(2)}`);
    assert.ok(r.lastMetrics!.accuracy > 0.8, `accuracy ${r.lastMetrics!.accuracy}`);
    assert.ok(fs.existsSync(path.join(dir, 'run', 'pretrain-curve.svg')));
  });

  it('l0sparse pretrain: flags make the run, the model folder loads, bad flags are refused', async function () {
    if (!tokenizer) this.skip();
    const dir = tempDir('pretrain-cli');
    const text = writeText(dir, ['a first line of text about proteins', 'a second line about cells and genes']);
    const out = path.join(dir, 'run');
    const args = ['node', 'l0sparse', 'pretrain', '--text', text, '--tokenizer', tokenizer!, '--out', out, '--dim', '16', '--layers', '1',
      '--heads', '2', '--max-positions', '64', '--max-length', '24', '--steps', '3', '--batch-size', '2', '--no-progress'];
    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((chunk: string) => { printed += chunk; return true; }) as typeof process.stdout.write;
    try {
      await buildProgram().exitOverride().parseAsync(args);
    } finally {
      process.stdout.write = write;
    }
    assert.match(printed, /pretrained 3 steps on 2 windows of 2 texts/);
    const model = await NativeMlmModel.load(path.join(out, 'model'));
    assert.equal(model.config.hiddenSize, 16);
    model.dispose();
    const pinned = JSON.parse(fs.readFileSync(path.join(out, 'pretrain-config.json'), 'utf8')) as PretrainConfig;
    assert.equal((pinned.init as { numLayers: number }).numLayers, 1);
    await assert.rejects(buildProgram().exitOverride().parseAsync([...args.slice(0, -1), '--mlm-probability', '1.5']), /mlmProbability' must be in \(0, 1\)/);
    await assert.rejects(buildProgram().exitOverride().parseAsync([...args, '--architecture', 'gpt']), /--architecture must be bert or distilbert/);
  });
});
