#!/usr/bin/env node
'use strict';
// Benchmark P4-scale: the index at 200k-1M documents against Lucene FeatureField, in the same run.
//
//   npx tsc -p tsconfig.json && nice node scripts/bench/p4-scale.js [--docs 200000] [--reps 3] [--threads 1,2]
//
// Vectors: P4's SciFact vectors (BM25 weights of English-analyzer words, 5,183 docs; scripts/bench/p4-search.js)
// replicated to --docs documents: copy c of document d is d's vector with every weight multiplied by its
// own factor exp(U(-0.25, 0.25)) (a seeded RNG), then truncated to the 9 significant bits Lucene's
// FeatureField keeps, so both engines index identical values. Queries: the 300 SciFact test queries.
// Written under bench/work/p4-scale (never committed): docs.csr (ours), docs.txt (Lucene), and
// docs-full.csr (the weights before truncation, to report the exact size on full-precision floats).
//
// Measured, both engines on the same machine in the same run:
//   build: ours = `l0sparse index` on the CSR file (read + invert + encode + save, --threads 1 and 2),
//          wall time and peak RSS (/usr/bin/time); Lucene = addDocument of every parsed line + commit.
//   size:  our file (exact float32, and uint8 impacts) vs the files of Lucene's segment.
//   open:  SparseIndex.load as the search servers do it (lazy: terms checked on first use), and a full
//          verification of every byte (`l0sparse check-index`).
//   latency: each query alone, one thread (p50/p90/p99 over queries of the per-query median over reps);
//          ours through SparseIndex.search (one N-API call per query, its overhead included).
//   throughput: one batch pass over all queries on 1 and 2 threads (median over reps).
//   agreement: top-10 of each engine against exact float64 brute force over the same vectors.
//   shards: the same documents as 4 shard files (--shard-docs) searched as one: latency and batch-time
//          ratios to the single index (the cost of searching 4 smaller indexes and merging their top-k).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync, execSync } = require('child_process');

const { ROOT, arg } = require('./bench-args');
const lib = require(path.join(ROOT, 'dist', 'lib', 'index.js'));
const p4 = require('./p4-search');

const DOC_COUNTS = arg('--docs', '200000').split(',').map(Number);
const REPS = Number(arg('--reps', '3'));
const THREADS = arg('--threads', '1,2').split(',').map(Number);
const WORK = path.resolve(arg('--work', path.join(ROOT, 'bench', 'work', 'p4-scale')));
const OUT = path.resolve(arg('--out', path.join(ROOT, 'bench', 'results', 'P4-scale.json')));
const CLI = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
const K = 10;

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Replicates the base vectors to n docs (see the header); writes docs.csr and docs.txt, returns the CSR. */
function replicate(base, baseIds, n, dir) {
  const next = mulberry32(12345);
  const baseRows = baseIds.length;
  let nnz = 0;
  for (let d = 0; d < n; d++) nnz += base.indptr[(d % baseRows) + 1] - base.indptr[d % baseRows];
  const indptr = new Int32Array(n + 1), indices = new Int32Array(nnz), values = new Float32Array(nnz);
  const fullValues = new Float32Array(nnz);  // the same jittered weights before the 9-bit truncation
  const ids = new Array(n);
  let at = 0;
  for (let d = 0; d < n; d++) {
    const src = d % baseRows;
    ids[d] = `${baseIds[src]}#${Math.floor(d / baseRows)}`;
    for (let j = base.indptr[src]; j < base.indptr[src + 1]; j++) {
      const full = Math.fround(base.values[j] * Math.exp(0.5 * (next() - 0.5)));
      indices[at] = base.indices[j];
      fullValues[at] = full;
      values[at++] = p4.luceneFeatureValue(full);
    }
    indptr[d + 1] = at;
  }
  const csr = { indptr, indices, values, numCols: base.numCols };
  const w = lib.CsrFileWriter.open(path.join(dir, 'docs.csr'), { numCols: csr.numCols, mode: 'overwrite' });
  const wFull = lib.CsrFileWriter.open(path.join(dir, 'docs-full.csr'), { numCols: csr.numCols, mode: 'overwrite' });
  const txt = fs.openSync(path.join(dir, 'docs.txt'), 'w');
  for (let start = 0; start < n; start += 20000) {
    const end = Math.min(n, start + 20000);
    const b = indptr[start];
    w.append({ indptr: indptr.slice(start, end + 1).map((v) => v - b), indices: indices.slice(b, indptr[end]), values: values.slice(b, indptr[end]), numCols: csr.numCols },
      ids.slice(start, end));
    wFull.append({ indptr: indptr.slice(start, end + 1).map((v) => v - b), indices: indices.slice(b, indptr[end]), values: fullValues.slice(b, indptr[end]), numCols: csr.numCols },
      ids.slice(start, end));
    const part = { indptr: indptr.slice(start, end + 1).map((v) => v - b), indices: indices.subarray(b, indptr[end]), values: values.subarray(b, indptr[end]) };
    fs.writeSync(txt, p4.vectorLines(part, Array.from({ length: end - start }, (_, i) => start + i)));
  }
  w.close();
  wFull.close();
  fs.closeSync(txt);
  return { csr, ids };
}

/** Exact top-k by float64 accumulation over an inverted copy of the vectors (the truth for agreement). */
function bruteForceTopK(docs, queries) {
  const n = docs.indptr.length - 1, cols = docs.numCols;
  const start = new Int32Array(cols + 1);
  for (const c of docs.indices) start[c + 1]++;
  for (let c = 0; c < cols; c++) start[c + 1] += start[c];
  const fill = start.slice(0, cols), postDoc = new Int32Array(docs.indices.length), postW = new Float32Array(docs.indices.length);
  for (let d = 0; d < n; d++) {
    for (let j = docs.indptr[d]; j < docs.indptr[d + 1]; j++) {
      const p = fill[docs.indices[j]]++;
      postDoc[p] = d;
      postW[p] = docs.values[j];
    }
  }
  const acc = new Float64Array(n);
  const out = [];
  for (let q = 0; q + 1 < queries.indptr.length; q++) {
    const touched = [];
    for (let j = queries.indptr[q]; j < queries.indptr[q + 1]; j++) {
      const c = queries.indices[j], qw = queries.values[j];
      for (let p = start[c]; p < start[c + 1]; p++) {
        if (acc[postDoc[p]] === 0) touched.push(postDoc[p]);
        acc[postDoc[p]] += qw * postW[p];
      }
    }
    const top = touched.map((d) => ({ doc: d, score: acc[d] })).sort((a, b) => b.score - a.score || a.doc - b.doc).slice(0, K);
    for (const d of touched) acc[d] = 0;
    out.push(top);
  }
  return out;
}

function agreement(truth, dump, queryIds) {
  let recall = 0, sameOrder = 0, sameTop1 = 0;
  queryIds.forEach((qid, q) => {
    const want = truth[q].map((h) => h.doc), got = (dump.get(qid) || []).map((h) => h.doc);
    const set = new Set(want);
    recall += want.length ? got.filter((d) => set.has(d)).length / want.length : 1;
    if (want.join() === got.join()) sameOrder++;
    if (want[0] === got[0]) sameTop1++;
  });
  const nq = queryIds.length;
  return { recall_at_10: recall / nq, same_top10_order: sameOrder / nq, same_top1: sameTop1 / nq };
}

function percentiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50_s: at(0.5), p90_s: at(0.9), p99_s: at(0.99), mean_s: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Per-query latency: `reps` lat passes after one warm-up pass, median per query. */
async function latency(engine, dir, name, extra = '') {
  const per = [];
  for (let r = 0; r <= REPS; r++) {
    const file = path.join(dir, `${name}.lat`);
    await engine.ask(`lat ${file}${extra}`);
    if (r > 0) per.push(fs.readFileSync(file, 'utf8').trim().split('\n').map((x) => Number(x) / 1e9));
  }
  const perQuery = per[0].map((_, q) => p4.median(per.map((p) => p[q])));
  return Object.defineProperty(percentiles(perQuery), 'perQuery', { value: perQuery, enumerable: false });
}

/** Which exact algorithm wins where: queries in quartiles of the postings they touch (sum of their terms'
 *  list lengths), median per-query time of MaxScore and of exhaustive accumulation in each. */
function algorithmComparison(csr, queries, maxscore, exhaustive) {
  const df = new Float64Array(csr.numCols);
  for (const c of csr.indices) df[c]++;
  const rows = [];
  for (let q = 0; q + 1 < queries.indptr.length; q++) {
    let touched = 0;
    for (let j = queries.indptr[q]; j < queries.indptr[q + 1]; j++) touched += df[queries.indices[j]];
    rows.push({ touched, terms: queries.indptr[q + 1] - queries.indptr[q], maxscore: maxscore.perQuery[q], exhaustive: exhaustive.perQuery[q] });
  }
  rows.sort((a, b) => a.touched - b.touched);
  const quartiles = [0, 1, 2, 3].map((i) => {
    const part = rows.slice(Math.floor((rows.length * i) / 4), Math.floor((rows.length * (i + 1)) / 4));
    return {
      postings_touched: [part[0].touched, part[part.length - 1].touched],
      median_terms: p4.median(part.map((r) => r.terms)),
      maxscore_p50_s: p4.median(part.map((r) => r.maxscore)),
      exhaustive_p50_s: p4.median(part.map((r) => r.exhaustive)),
      exhaustive_faster_fraction: part.filter((r) => r.exhaustive < r.maxscore).length / part.length,
    };
  });
  return { quartiles, exhaustive_faster_fraction: rows.filter((r) => r.exhaustive < r.maxscore).length / rows.length };
}

async function throughput(engine, threads, nq, extra = '') {
  await engine.ask(`run ${threads}${extra}`);
  const passes = [];
  for (let r = 0; r < REPS; r++) passes.push(Number((await engine.ask(`run ${threads}${extra}`)).split(' ')[1]) / 1e9);
  return { queries_per_s: nq / p4.median(passes), pass_s: passes };
}

function buildOurs(dir, out, weights, threads, vectors = 'docs.csr', extra = []) {
  const res = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb %M', process.execPath, CLI, '--threads', String(threads), 'index',
    '--vectors', path.join(dir, vectors), '--out', path.join(dir, out), '--weights', weights, '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (res.status !== 0) throw new Error(`l0sparse index failed: ${res.stderr}`);
  const report = JSON.parse(res.stdout);
  const rss = Number(/maxrss_kb (\d+)/.exec(res.stderr)[1]);
  return { shards: report.shards?.map((f) => path.basename(f)), seconds: report.seconds, peak_rss_mb: rss / 1024, file_bytes: report.fileBytes, postings: report.postings,
    bytes_per_posting: report.fileBytes / report.postings };
}

async function runSize(base, n) {
  const dir = path.join(WORK, String(n));
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const { csr } = replicate(base.docs, base.docIds, n, dir);
  const qfile = path.join(dir, 'queries.csr');
  const w = lib.CsrFileWriter.open(qfile, { numCols: base.queries.numCols, mode: 'overwrite' });
  w.append(base.queries, base.queryIds);
  w.close();
  fs.writeFileSync(path.join(dir, 'queries.txt'), p4.vectorLines(base.queries, base.queryIds));
  process.stderr.write(`[${n}] vectors written in ${((Date.now() - t0) / 1000).toFixed(1)} s (${csr.indices.length} postings)\n`);
  const truth = bruteForceTopK(csr, base.queries);

  const build = {};
  for (const threads of THREADS) build[`float32_threads_${threads}`] = buildOurs(dir, 'index.l0idx', 'float32', threads);
  build.uint8 = buildOurs(dir, 'index-uint8.l0idx', 'uint8', Math.max(...THREADS));
  build.uint16 = buildOurs(dir, 'index-uint16.l0idx', 'uint16', Math.max(...THREADS));
  // Size only: the weights before the 9-bit truncation (full float32 mantissas, nothing to shift out).
  build.float32_full_precision_weights = buildOurs(dir, 'index-full.l0idx', 'float32', Math.max(...THREADS), 'docs-full.csr');
  // Shard-merge overhead: the same documents as 4 shard files searched as one.
  build.float32_4_shards = buildOurs(dir, 'index-shard.l0idx', 'float32', Math.max(...THREADS), 'docs.csr', ['--shard-docs', String(Math.ceil(n / 4))]);
  process.stderr.write(`[${n}] ours built: ${JSON.stringify(build)}\n`);

  const classes = path.join(WORK, 'classes');
  fs.mkdirSync(classes, { recursive: true });
  const javac = spawnSync('javac', ['-cp', p4.LUCENE_JAR, '-d', classes, path.join(__dirname, 'p4-lucene', 'P4Lucene.java')], { stdio: 'inherit' });
  if (javac.status !== 0) throw new Error('javac failed (apt-get install default-jdk-headless liblucene8-java)');
  const heap = n > 300000 ? '12g' : '6g';
  const lucene = p4.server('java', [`-Xms${heap}`, `-Xmx${heap}`, '-cp', `${classes}:${p4.LUCENE_JAR}`, 'P4Lucene', dir]);
  const ready = (await lucene.ready).split(' ');
  const luceneBuild = { seconds: Number(ready[3]) / 1e9, index_bytes: Number(ready[4]) };
  luceneBuild.bytes_per_posting = luceneBuild.index_bytes / csr.indices.length;
  process.stderr.write(`[${n}] lucene built: ${JSON.stringify(luceneBuild)}\n`);

  const nq = base.queryIds.length;
  const engines = {
    ours: p4.server(process.execPath, [path.join(__dirname, 'p4-ours.js'), dir, 'index.l0idx']),
    ours_uint8: p4.server(process.execPath, [path.join(__dirname, 'p4-ours.js'), dir, 'index-uint8.l0idx']),
    ours_4_shards: p4.server(process.execPath, [path.join(__dirname, 'p4-ours.js'), dir, build.float32_4_shards.shards.join(',')]),
  };
  // Open: the servers map their index lazily (the default); a full verification reads every byte.
  const load = {};
  for (const [name, e] of Object.entries(engines)) load[name] = Number((await e.ready).split(' ')[4]) / 1e9;
  const check = spawnSync(process.execPath, [CLI, '--threads', String(Math.max(...THREADS)), 'check-index', path.join(dir, 'index.l0idx'), '--json'],
    { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`l0sparse check-index failed: ${check.stdout}${check.stderr}`);
  load.ours_full_verify = JSON.parse(check.stdout)[0].seconds;
  const result = { docs: n, postings: csr.indices.length, build: { ours: build, lucene: luceneBuild }, open_s: load, latency: {}, throughput: {}, agreement: {}, peak_rss_mb: {} };
  for (const [name, e] of [['ours', engines.ours], ['ours_uint8', engines.ours_uint8], ['lucene', lucene]]) {
    await e.ask(`dump ${path.join(dir, `${name}.top10`)}`);
    result.agreement[name] = agreement(truth, p4.readDump(path.join(dir, `${name}.top10`)), base.queryIds);
  }
  // Interleaved engine by engine for each measure, so that load on the shared machine hits all alike.
  result.latency.ours = await latency(engines.ours, dir, 'ours');
  result.latency.lucene = await latency(lucene, dir, 'lucene');
  result.latency.ours_exhaustive = await latency(engines.ours, dir, 'ours-ex', ' exhaustive');
  result.latency.ours_uint8 = await latency(engines.ours_uint8, dir, 'ours-u8');
  result.latency.ours_4_shards = await latency(engines.ours_4_shards, dir, 'ours-shards');
  result.algorithms = algorithmComparison(csr, base.queries, result.latency.ours, result.latency.ours_exhaustive);
  for (const threads of THREADS) {
    result.throughput[`ours_threads_${threads}`] = await throughput(engines.ours, threads, nq);
    result.throughput[`lucene_threads_${threads}`] = await throughput(lucene, threads, nq);
    result.throughput[`ours_4_shards_threads_${threads}`] = await throughput(engines.ours_4_shards, threads, nq);
  }
  result.shard_merge_overhead = {
    latency_p50_ratio: result.latency.ours_4_shards.p50_s / result.latency.ours.p50_s,
    batch_time_ratio_1_thread: result.throughput[`ours_threads_${THREADS[0]}`].queries_per_s / result.throughput[`ours_4_shards_threads_${THREADS[0]}`].queries_per_s,
  };
  for (const [name, e] of [['ours', engines.ours], ['ours_uint8', engines.ours_uint8], ['ours_4_shards', engines.ours_4_shards], ['lucene', lucene]]) {
    result.peak_rss_mb[name] = Number((await e.ask('rss')).split(' ')[1]) / 1024;
    e.child.stdin.end('quit\n');
  }
  process.stderr.write(`[${n}] ${JSON.stringify({ latency: result.latency, agreement: result.agreement })}\n`);
  return result;
}

async function main() {
  fs.mkdirSync(WORK, { recursive: true });
  const base = p4.buildVectors();
  const bySize = {};
  for (const n of DOC_COUNTS) bySize[n] = await runSize(base, n);
  const main = bySize[Math.max(...DOC_COUNTS)];
  const bestOursBuild = Math.min(...THREADS.map((t) => main.build.ours[`float32_threads_${t}`].seconds));
  const result = {
    figure: 'P4-scale',
    command: 'npx tsc -p tsconfig.json && nice node scripts/bench/p4-scale.js ' + process.argv.slice(2).join(' '),
    commit: execSync('git rev-parse HEAD', { cwd: ROOT }).toString().trim(),
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`,
    threads: 1,
    shapes: {
      dataset: `scifact replicated to ${main.docs} docs (weights x exp(U(-0.25, 0.25)) per posting, 9-bit truncated)`,
      docs: main.docs, postings: main.postings, queries: base.queryIds.length, k: K, vocab: base.docs.numCols,
    },
    ours: { name: "l0sparse SparseIndex (float32 exact, block-max MaxScore), one query per call, 1 thread", median_s: main.latency.ours.p50_s, peak_mb: main.peak_rss_mb.ours },
    peer: { name: 'Lucene 8 FeatureField linear queries (BooleanQuery SHOULD, exhaustive top-10 collector), 1 thread', median_s: main.latency.lucene.p50_s, peak_mb: main.peak_rss_mb.lucene },
    speedup: main.latency.lucene.p50_s / main.latency.ours.p50_s,
    speedup_p99: main.latency.lucene.p99_s / main.latency.ours.p99_s,
    memory_ratio: main.peak_rss_mb.lucene / main.peak_rss_mb.ours,
    build_speedup: main.build.lucene.seconds / bestOursBuild,
    size_ratio: main.build.lucene.index_bytes / main.build.ours.uint8.file_bytes,
    size_ratio_exact: main.build.lucene.index_bytes / main.build.ours[`float32_threads_${THREADS[0]}`].file_bytes,
    median_s_is: 'p50 over queries of the per-query median (over reps) of one query searched alone',
    reps: REPS,
    by_docs: bySize,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  process.stderr.write(`wrote ${OUT}\n`);
}

main().catch((e) => {
  process.stderr.write(`p4-scale: ${e.stack}\n`);
  process.exit(1);
});
