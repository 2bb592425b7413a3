#!/usr/bin/env node
'use strict';
// Retrieval-quality check of bfloat16 encoding (issue 20): encodes the whole SciFact corpus with one trained
// encoder in float32 and in bfloat16, searches SciFact test with the encoder's inference-free query vectors,
// and scores both runs with the project's trec_eval-exact evaluator. bfloat16 passes when nDCG@10 and R@100
// are within 0.002 of float32 and the top-10 lists of the queries overlap >= 99% on average. Also reports the
// vector error (relative max-abs difference per document, nonzeros present on one side only).
//
//   npx tsc -p tsconfig.json && node scripts/bench/p3-quality.js [--model <encoder dir>] [--data <beir dir>]
//        [--threads 2] [--batch-size 32] [--out bench/results/P3-quality-<name>.json]
// Without --model it trains the demo's model first (`l0sparse demo` defaults, into bench/work/p3-quality/demo).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, execSync } = require('child_process');

const { ROOT, arg } = require('./bench-args');
const lib = require(path.join(ROOT, 'dist', 'lib', 'index.js'));
const { searchRun } = require(path.join(ROOT, 'dist', 'lib', 'retrieval', 'evaluate-encoder.js'));

const DATA = path.resolve(arg('--data', path.join(ROOT, '..', 'shared', 'data', 'scifact')));
const THREADS = Number(arg('--threads', '2'));
const BATCH = Number(arg('--batch-size', '32'));
const WORK = path.resolve(arg('--work', path.join(ROOT, 'bench', 'work', 'p3-quality')));
const TOLERANCE = 0.002;
const MIN_OVERLAP = 0.99;

function trainDemoModel() {
  const out = path.join(WORK, 'demo');
  const model = path.join(out, 'run', 'model');  // the demo's training run folder holds the encoder
  if (fs.existsSync(path.join(model, 'config.json'))) return model;
  process.stderr.write(`training the demo model into ${out} (l0sparse demo defaults)\n`);
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'), '--threads', String(THREADS), 'demo',
    '--data', DATA, '--out', out, '--no-progress', '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!fs.existsSync(path.join(model, 'config.json'))) throw new Error(`the demo wrote no model in ${model}`);
  return model;
}

/** Mean over queries of |top10(a) ∩ top10(b)| / |top10(a)|. */
function top10Overlap(a, b) {
  const top = (hits) => [...hits.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 10).map(([id]) => id);
  let sum = 0; let n = 0;
  for (const [qid, hits] of a) {
    const ta = top(hits);
    if (ta.length === 0) continue;
    const tb = new Set(top(b.get(qid) ?? new Map()));
    sum += ta.filter((id) => tb.has(id)).length / ta.length;
    n++;
  }
  return n ? sum / n : 1;
}

function vectorError(a, b) {
  let maxRel = 0; let sumRel = 0; let oneSided = 0; let entries = 0;
  for (let r = 0; r + 1 < a.indptr.length; r++) {
    const m = new Map();
    for (let j = a.indptr[r]; j < a.indptr[r + 1]; j++) m.set(a.indices[j], [a.values[j], 0]);
    for (let j = b.indptr[r]; j < b.indptr[r + 1]; j++) {
      const e = m.get(b.indices[j]);
      if (e) e[1] = b.values[j]; else m.set(b.indices[j], [0, b.values[j]]);
    }
    let scale = 0; let diff = 0;
    for (const [x, y] of m.values()) {
      scale = Math.max(scale, Math.abs(x), Math.abs(y));
      diff = Math.max(diff, Math.abs(x - y));
      if ((x === 0) !== (y === 0)) oneSided++;
      entries++;
    }
    const rel = scale > 0 ? diff / scale : 0;
    maxRel = Math.max(maxRel, rel);
    sumRel += rel;
  }
  const docs = a.indptr.length - 1;
  return { docs, entries, maxRelErrorPerDoc: maxRel, meanRelErrorPerDoc: sumRel / docs, nonzeroOnOneSideOnly: oneSided, oneSidedFraction: oneSided / entries };
}

async function main() {
  lib.setNumThreads(THREADS);
  const modelDir = path.resolve(arg('--model', '') || trainDemoModel());
  const name = arg('--name', modelDir.includes(`${path.sep}demo${path.sep}`) ? 'demo' : path.basename(modelDir));
  const out = path.resolve(arg('--out', path.join(ROOT, 'bench', 'results', `P3-quality-${name}.json`)));
  const data = await lib.loadBeir(DATA, 'test');
  const encoder = await lib.SparseEncoder.load(modelDir);
  const texts = data.corpus.map((d) => lib.documentText(d));
  const docIds = data.corpus.map((d) => d.id);
  const queries = await encoder.encodeQueries(data.queries.map((q) => q.text), { allowEmpty: true });
  const queryIds = data.queries.map((q) => q.id);
  const uptimeBefore = execSync('uptime').toString().trim();
  const sides = {};
  const runs = {};
  const vectors = {};
  for (const dtype of ['float32', 'bfloat16']) {
    const t0 = process.hrtime.bigint();
    const docs = await encoder.encodeDocuments(texts, { dtype, batchSize: BATCH, progress: false, allowEmpty: true });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const run = await searchRun(docs, docIds, queries, queryIds, 100);
    const e = lib.evaluate(data.qrels, run, { measures: ['ndcg_cut.10', 'recall.100'], averageOverAllJudged: true, ignoreIdenticalIds: true });
    sides[dtype] = { ndcg10: e.summary.get('ndcg_cut_10'), recall100: e.summary.get('recall_100'), encodeSeconds: seconds,
      docsPerSecond: texts.length / seconds, meanDocNnz: docs.values.length / texts.length };
    runs[dtype] = run;
    vectors[dtype] = docs;
    process.stderr.write(`${dtype}: ${JSON.stringify(sides[dtype])}\n`);
  }
  const deltaNdcg = sides.bfloat16.ndcg10 - sides.float32.ndcg10;
  const deltaRecall = sides.bfloat16.recall100 - sides.float32.recall100;
  const overlap = top10Overlap(runs.float32, runs.bfloat16);
  const result = {
    figure: 'P3-quality',
    command: `node scripts/bench/p3-quality.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit: execSync('git rev-parse HEAD', { cwd: ROOT }).toString().trim(),
    machine: `${(/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1]}, ${os.cpus().length} cores`,
    cpuHasNativeBf16: lib.cpuHasNativeBf16(),
    gemm: lib.gemmBackend(),
    threads: THREADS,
    model: { dir: modelDir, config: encoder.config.raw, activation: encoder.activation, k: encoder.k, maxLength: encoder.maxLength },
    data: { dir: DATA, split: 'test', docs: texts.length, queries: queryIds.length },
    float32: sides.float32,
    bfloat16: sides.bfloat16,
    delta: { ndcg10: deltaNdcg, recall100: deltaRecall },
    top10Overlap: overlap,
    vectorError: vectorError(vectors.float32, vectors.bfloat16),
    criteria: { tolerance: TOLERANCE, minTop10Overlap: MIN_OVERLAP },
    pass: Math.abs(deltaNdcg) <= TOLERANCE && Math.abs(deltaRecall) <= TOLERANCE && overlap >= MIN_OVERLAP,
    uptime: { before: uptimeBefore, after: execSync('uptime').toString().trim() },
  };
  encoder.dispose();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify({ ...result, model: { ...result.model, config: undefined } }, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
