#!/usr/bin/env node
'use strict';
// Our side of benchmark P2 (driven by scripts/bench/p2-train-step.js over stdin/stdout): NativeTrainer.trainStep
// on bench/work/p2/model with the paper's objective as the peer runs it (KL T=1, l0 activation k=1, FLOPS with
// threshold 200 pooled over all docs like SpladeLoss, λ 0.04), AdamW lr 2e-5 / wd 0.01, clipping 1.0.
// Commands: step | rss | quit. The step time is the wall time of the trainStep Promise.
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const root = path.resolve(__dirname, '..', '..', 'dist', 'lib');
const { NativeMlmModel } = require(path.join(root, 'model', 'native-model'));
const { NativeTrainer } = require(path.join(root, 'train', 'native-trainer'));

async function main() {
  const work = process.argv[2];
  const batch = JSON.parse(fs.readFileSync(path.join(work, 'batch.json'), 'utf8'));
  // P2_DEVICE / P2_BF16: set by p2-train-step.js (--device, --bf16) for the GPU run.
  const model = await NativeMlmModel.load(path.join(work, 'model'), { device: process.env.P2_DEVICE || 'cpu' });
  const trainer = NativeTrainer.create(model, {
    loss: 'kl', temperature: 1, activation: 'l0', k: 1, lambda: 0.04, lambdaWarmup: 0, threshold: 200,
    regularizerPerSlot: false, lr: 2e-5, warmupSteps: 0, weightDecay: 0.01, maxGradNorm: 1,
    bf16: process.env.P2_BF16 === '1',
  });
  const N = batch.docs.length; const L = batch.docs[0].length;
  const indptr = [0]; const indices = []; const values = [];
  for (const q of batch.queries) {
    for (const id of q) { indices.push(id); values.push(0.5 + ((id * 7919) % 1000) / 500); }
    indptr.push(indices.length);
  }
  const trainBatch = {
    docs: { inputIds: Int32Array.from(batch.docs.flat()), attentionMask: new Int32Array(N * L).fill(1), batchSize: N, seqLen: L, lengths: new Int32Array(N).fill(L) },
    groupSize: 2,
    queries: { indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), values: Float32Array.from(values), numCols: model.config.vocabSize },
    teacher: Float32Array.from(batch.teacher.flat()),
  };
  process.stdout.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd === 'step') {
      const t0 = process.hrtime.bigint();
      const m = await trainer.trainStep(trainBatch);
      process.stdout.write(`step ${Number(process.hrtime.bigint() - t0) / 1e9} ${m.loss}\n`);
    } else if (cmd === 'rss') {
      process.stdout.write(`rss ${process.resourceUsage().maxRSS / 1024}\n`);
    } else if (cmd === 'quit') {
      break;
    }
  }
  model.dispose();
  process.exit(0);  // stdin keeps the event loop alive after the readline loop ends
}

main().catch((e) => { console.error(e); process.exit(1); });
