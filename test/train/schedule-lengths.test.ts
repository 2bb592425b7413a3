import { strict as assert } from 'assert';

import { DEMO_DEFAULTS, demoTrainConfig } from '../../lib/demo/run-demo';
import { normalizeTrainConfig } from '../../lib/train/config';
import { PAPER_SCHEDULE_FRACTIONS, resolveScheduleLengths } from '../../lib/train/schedule-lengths';
import { GROUPS } from './tiny-run';

/** The smallest valid config; `step` and `steps` are what these tests vary. */
function config(steps: number | undefined, step: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    output: '/tmp/l0sparse-schedule', tokenizer: '/tmp/tok.json', data: { jsonl: GROUPS },
    init: { architecture: 'distilbert', hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64 },
    ...(steps === undefined ? {} : { steps }), step,
  };
}

/** Normalises, collecting warnings instead of printing them. */
function normalize(raw: Record<string, unknown>): { step: { warmupSteps?: number; lambdaWarmup?: number }; warnings: string[] } {
  const warnings: string[] = [];
  const cfg = normalizeTrainConfig(raw, '/', { warn: (line) => warnings.push(line) });
  return { step: cfg.step, warnings };
}

describe('train: warm-up lengths relative to the run', () => {
  it('defaults to the paper\'s 6% / 10% of the run: 60 / 100 for the default 1000 steps', () => {
    // Paper: 100k steps, 6k LR warm-up, λ warm-up T = 10k.
    assert.deepEqual(PAPER_SCHEDULE_FRACTIONS, { warmupSteps: 6000 / 100000, lambdaWarmup: 10000 / 100000 });
    const { step, warnings } = normalize(config(undefined));
    assert.deepEqual([step.warmupSteps, step.lambdaWarmup], [60, 100]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(pick(normalize(config(250)).step), [15, 25]);
    assert.deepEqual(pick(normalize(config(100000)).step), [6000, 10000]);
  });

  it('rounds to integers of at least 1: 8 steps give 1 / 1', () => {
    assert.deepEqual(pick(normalize(config(8)).step), [1, 1]);
    assert.deepEqual(pick(normalize(config(1)).step), [1, 1]);
    // 6% of 25 = 1.5 → 2, 10% of 25 = 2.5 → 3 (half up); 6% of 24 = 1.44 → 1.
    assert.deepEqual(pick(normalize(config(25)).step), [2, 3]);
    assert.deepEqual(pick(normalize(config(24)).step), [1, 2]);
  });

  it('keeps explicit values, 0 (no warm-up) included, each key on its own', () => {
    assert.deepEqual(pick(normalize(config(1000, { warmupSteps: 0, lambdaWarmup: 0 })).step), [0, 0]);
    assert.deepEqual(pick(normalize(config(1000, { warmupSteps: 250 })).step), [250, 100]);
    assert.deepEqual(pick(normalize(config(1000, { lambdaWarmup: 1000 })).step), [60, 1000]);
    assert.throws(() => normalize(config(1000, { warmupSteps: -1 })), /'step\.warmupSteps' must be an integer >= 0, got -1/);
    assert.throws(() => normalize(config(1000, { lambdaWarmup: 2.5 })), /'step\.lambdaWarmup' must be an integer >= 0, got 2\.5/);
  });

  it('warns once per key set longer than the run, naming key, value and run length', () => {
    const both = normalize(config(1000, { warmupSteps: 6000, lambdaWarmup: 10000 }));
    assert.deepEqual(pick(both.step), [6000, 10000]);
    assert.equal(both.warnings.length, 2);
    assert.match(both.warnings[0], /^train config: step\.warmupSteps 6000 is longer than the run \(1000 steps\): the learning rate never reaches its peak \(at most 17% of lr\)/);
    assert.match(both.warnings[1], /^train config: step\.lambdaWarmup 10000 is longer than the run \(1000 steps\): λ reaches only 1% of its value; unset, it defaults to 10% of the run$/);
    const one = normalize(config(8, { warmupSteps: 9, lambdaWarmup: 8 }));
    assert.equal(one.warnings.length, 1);
    assert.match(one.warnings[0], /step\.warmupSteps 9 is longer than the run \(8 steps\)/);
    // As long as the run, shorter, or unset: no warning.
    assert.deepEqual(normalize(config(8, { warmupSteps: 8, lambdaWarmup: 7 })).warnings, []);
  });

  it('warns on stderr by default', () => {
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => { lines.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      normalizeTrainConfig(config(100, { lambdaWarmup: 101 }), '/');
      normalizeTrainConfig(config(100, { lambdaWarmup: 100 }), '/');
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(lines, ['l0sparse: warning: train config: step.lambdaWarmup 101 is longer than the run (100 steps): λ reaches only 98% of its value; unset, it defaults to 10% of the run\n']);
  });

  it('the demo and sweep resolve theirs through the same function, with the demo\'s fractions (10% / 50%)', () => {
    const demo = (o: Record<string, unknown>, log?: (l: string) => void) => demoTrainConfig({ ...DEMO_DEFAULTS, out: '/tmp/d', log, ...o }, '/tmp/beir', '/tmp/tok.txt').step;
    assert.deepEqual(pick(demo({ steps: 150 })), [15, 75]);  // the lengths of the published demo (docs/DEMO.md)
    assert.deepEqual(pick(demo({ steps: 60 })), [6, 30]);    // the sweep's default points
    assert.deepEqual(pick(demo({ steps: 4 })), [1, 2]);
    const logged: string[] = [];
    assert.deepEqual(pick(demo({ steps: 150, warmupSteps: 0, lambdaWarmup: 200 }, (l) => logged.push(l))), [0, 200]);
    assert.deepEqual(logged.length, 1);
    assert.match(logged[0], /^warning: train config: step\.lambdaWarmup 200 is longer than the run \(150 steps\).*defaults to 50% of the run$/);
    assert.deepEqual(resolveScheduleLengths(150, {}, { warmupSteps: 0.1, lambdaWarmup: 0.5 }), { lengths: { warmupSteps: 15, lambdaWarmup: 75 }, warnings: [] });
  });
});

function pick(step: { warmupSteps?: number; lambdaWarmup?: number }): [number | undefined, number | undefined] {
  return [step.warmupSteps, step.lambdaWarmup];
}
