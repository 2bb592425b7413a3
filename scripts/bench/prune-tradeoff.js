#!/usr/bin/env node
'use strict';
// nDCG@10 vs FLOPS of a trained encoder when its document vectors are cut to their top-k weights (OpenSearch's
// top_k pruning, native pruneCsr): the serving-time alternative to a stronger λ. The corpus is encoded once.
//   node scripts/bench/prune-tradeoff.js --model <dir> --data <beir dir> [--ks 64,128,192,256] [--out file.json]
// The query side is the model folder's idf.json (inference-free queries); the test split is evaluated.
const fs = require('fs');
const path = require('path');
const { ROOT, arg } = require('./bench-args');

const lib = (p) => require(path.join(ROOT, 'dist', 'lib', p));
const { NativeMlmModel } = lib('model/native-model');
const { TextTokenizer } = lib('tokenizer/text-tokenizer');
const { IdfTable } = lib('idf/idf-table');
const { QueryEncoder } = lib('query/query-encoder');
const { loadBeir, documentText } = lib('data/beir');
const { encodeTexts, searchRun } = lib('retrieval/evaluate-encoder');
const { pruneCsr } = lib('sparse/prune');
const { evaluate, efficiency } = lib('eval');

async function main() {
  const modelDir = arg('--model');
  const data = arg('--data');
  if (!modelDir || !data) throw new Error('usage: prune-tradeoff.js --model <dir> --data <beir dir> [--ks 64,128] [--out file]');
  const ks = arg('--ks', '48,64,96,128,160,192,256').split(',').map(Number);
  const sparse = JSON.parse(fs.readFileSync(path.join(modelDir, 'l0sparse_config.json'), 'utf8'));
  const model = await NativeMlmModel.load(modelDir);
  const tokenizer = TextTokenizer.fromDir(modelDir);
  const queryEncoder = QueryEncoder.fromIdf(tokenizer, IdfTable.load(path.join(modelDir, 'idf.json'), tokenizer));
  const test = await loadBeir(data, 'test');
  const docIds = test.corpus.map((d) => d.id);
  const docs = await encodeTexts(model, tokenizer, test.corpus.map(documentText), { activation: sparse.activation, k: sparse.k || 1, maxLength: sparse.maxLength });
  const queries = await queryEncoder.encode(test.queries.map((q) => q.text), { allowEmpty: true });
  const rows = [];
  for (const k of [...ks, Infinity]) {
    const cut = Number.isFinite(k) ? await pruneCsr(docs, { type: 'top_k', value: k }) : docs;
    const run = await searchRun(cut, docIds, queries, test.queries.map((q) => q.id), 100);
    const e = evaluate(test.qrels, run, { measures: ['ndcg_cut.10', 'recall.100'], averageOverAllJudged: true, ignoreIdenticalIds: true });
    const eff = efficiency(queries, cut);
    const row = { topK: Number.isFinite(k) ? k : null, ndcg10: e.summary.get('ndcg_cut_10'), recall100: e.summary.get('recall_100'), flops: eff.flops, docNnz: eff.meanDocNonZeros };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const out = arg('--out');
  if (out) fs.writeFileSync(out, JSON.stringify({ model: modelDir, data, rows }, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
