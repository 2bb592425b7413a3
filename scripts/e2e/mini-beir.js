#!/usr/bin/env node
'use strict';
// A small BEIR folder cut from the real SciFact (../shared/data/scifact or L0SPARSE_DATA): the first test and
// train queries with their judged documents plus the first documents of the corpus, so that
// `l0sparse demo --steps 5` runs end to end in seconds.  node scripts/e2e/mini-beir.js <out> [queries] [extraDocs]
const fs = require('fs');
const path = require('path');

function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function readQrels(file) {
  return fs.readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
}

function makeMiniBeir(out, { source, queries = 40, extraDocs = 300 } = {}) {
  const src = source || path.join(process.env.L0SPARSE_DATA || path.resolve(__dirname, '..', '..', '..', 'shared', 'data'), 'scifact');
  if (!fs.existsSync(path.join(src, 'corpus.jsonl'))) throw new Error(`no SciFact at ${src} (set L0SPARSE_DATA to the shared data folder)`);
  const corpus = readJsonl(path.join(src, 'corpus.jsonl'));
  const allQueries = new Map(readJsonl(path.join(src, 'queries.jsonl')).map((q) => [q._id, q]));
  const docIds = new Set(corpus.slice(0, extraDocs).map((d) => d._id));
  const keptQueries = new Set();
  fs.mkdirSync(path.join(out, 'qrels'), { recursive: true });
  for (const split of ['train', 'test']) {
    const rows = readQrels(path.join(src, 'qrels', `${split}.tsv`));
    const qids = [...new Set(rows.map((r) => r[0]))].slice(0, queries);
    const kept = rows.filter((r) => qids.includes(r[0]));
    for (const [q, d] of kept) { keptQueries.add(q); docIds.add(d); }
    fs.writeFileSync(path.join(out, 'qrels', `${split}.tsv`), ['query-id\tcorpus-id\tscore', ...kept.map((r) => r.join('\t'))].join('\n') + '\n');
  }
  fs.writeFileSync(path.join(out, 'corpus.jsonl'), corpus.filter((d) => docIds.has(d._id)).map((d) => JSON.stringify(d)).join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'queries.jsonl'), [...keptQueries].map((q) => JSON.stringify(allQueries.get(q))).join('\n') + '\n');
  return { dir: out, documents: docIds.size, queries: keptQueries.size };
}

module.exports = { makeMiniBeir };

if (require.main === module) {
  const [out, q, d] = process.argv.slice(2);
  if (!out) { process.stderr.write('usage: mini-beir.js <out> [queries] [extraDocs]\n'); process.exit(2); }
  process.stdout.write(JSON.stringify(makeMiniBeir(path.resolve(out), { queries: q ? Number(q) : undefined, extraDocs: d ? Number(d) : undefined })) + '\n');
}
