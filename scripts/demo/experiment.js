// The training experiments of docs/DEMO.md: one short run from scratch on SciFact train, evaluated on
// SciFact test (all 5,183 documents) with the demo's functions (runTraining + evaluateEncoder).
// usage: node scripts/demo/experiment.js <name> '<JSON overrides, deep-merged into the base config>'
//   e.g. node scripts/demo/experiment.js kl150 '{"steps":150,"data":{"teacher":"bm25"},"step":{"loss":"kl"}}'
// Data: $L0SPARSE_DATA/scifact or ../shared/data/scifact; runs go to $EXP_OUT (default /tmp/l0sparse-exp).
const path = require('path');
const D = path.resolve(__dirname, '..', '..', 'dist', 'lib');
const DATA = path.join(process.env.L0SPARSE_DATA || path.resolve(__dirname, '..', '..', '..', 'shared', 'data'), 'scifact');
const OUT = process.env.EXP_OUT || '/tmp/l0sparse-exp';
const { normalizeTrainConfig } = require(D + '/train/config');
const { runTraining } = require(D + '/train/run');
const { evaluateEncoder } = require(D + '/retrieval/evaluate-encoder');
const { loadBeir, documentText } = require(D + '/data/beir');
function merge(a, b) { for (const [k, v] of Object.entries(b)) { if (v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object') merge(a[k], v); else a[k] = v; } return a; }
(async () => {
  const name = process.argv[2];
  const base = {
    output: path.join(OUT, name),
    init: { architecture: 'distilbert', hiddenSize: 64, numLayers: 1, numHeads: 2, intermediateSize: 128, maxPositions: 256 },
    tokenizer: path.resolve(__dirname, '..', '..', 'assets', 'scifact-wordpiece-8k.txt'),
    data: { beir: DATA, split: 'train', negatives: 1, holdOut: 0 },
    steps: 100, queriesPerStep: 16, maxLength: 256, checkpointEvery: 100000, evalEvery: 0,
    step: { lr: 0.001, warmupSteps: 10, lambda: 0.001, lambdaWarmup: 50, threshold: 200 },
  };
  const raw = merge(base, JSON.parse(process.argv[3] || '{}'));
  require('fs').rmSync(raw.output, { recursive: true, force: true });
  const cfg = normalizeTrainConfig(raw);
  const test = await loadBeir(DATA, 'test');
  const t0 = Date.now();
  let out = null;
  const r = await runTraining(cfg, { progress: false, onEval: async (ctx) => {
    const e = await evaluateEncoder({ model: ctx.model, tokenizer: ctx.tokenizer, queryEncoder: ctx.queryEncoder,
      corpus: test.corpus.map((d) => ({ id: d.id, text: documentText(d) })), queries: test.queries, qrels: test.qrels,
      activation: cfg.step.decoupled ? 'relu' : (cfg.step.activation ?? 'l0'), k: cfg.step.k ?? 1, maxLength: cfg.maxLength, batchSize: 32 });
    out = { ndcg10: e.ndcg10, recall100: e.recall100, flops: e.flops, nnz: e.meanDocNnz, enc: e.encodeSeconds };
    return out;
  } });
  console.log(JSON.stringify({ name, over: process.argv[3], ...out, trainSec: r.seconds, last: r.lastMetrics && { loss: r.lastMetrics.rankingLoss, nnz: r.lastMetrics.meanDocNnz, s: r.lastMetrics.seconds } }));
})().catch((e) => { console.error(e); process.exit(1); });
