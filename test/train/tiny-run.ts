import * as path from 'path';

/** Paths and the smallest training run the run-level tests share (a 1-layer DistilBERT of width 16). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
export const GROUPS = path.join(ROOT, 'test', 'fixtures', 'train-run', 'groups.jsonl');

/** A train config: 8 steps of 4 queries, checkpoints every 2; `extra` replaces top-level keys. */
export function tinyRun(output: string, tokenizer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    output, tokenizer,
    init: { architecture: 'distilbert', hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64, seed: 3 },
    data: { jsonl: GROUPS },
    steps: 8, queriesPerStep: 4, maxLength: 32, checkpointEvery: 2, keepCheckpoints: 2, seed: 7, threads: 1,
    step: { lr: 0.003, warmupSteps: 2, lambda: 0.01, lambdaWarmup: 4, threshold: 50 },
    ...extra,
  };
}
