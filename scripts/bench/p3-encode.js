#!/usr/bin/env node
'use strict';
// Benchmark P3: corpus encoding docs/s of l0sparse (encodeCorpus: the whole pipeline from corpus.jsonl to a
// CSR file) vs sentence-transformers 6 SparseEncoder.encode_document, on the same checkpoint (a random-init
// DistilBERT 6x768 with the bert-base-uncased vocabulary, scripts/bench/p3-make-model.py) and the same
// SciFact texts (title + " " + text). Same max length, batch size and thread count; no pruning and special
// tokens kept on both sides so that the vectors can be compared. Two pairs, each side in its own worker
// process (p3-ours.js, p3-peer.py) loaded once:
//   default: ours with the library's defaults (dtype default, GEMM backend auto) vs ST's defaults (float32);
//   bf16:    ours with dtype bfloat16 vs ST with its model cast to bfloat16 (model.to(torch.bfloat16)).
// Timed passes are interleaved (ours, peer, ours-bf16, peer-bf16, ...; the order reversed every other round)
// after a warm-up; medians are reported. Peak memory = VmHWM of each worker process. The machine's GEMM peak
// is measured in the same session (p3-gemm-peak.py), and each side's useful FLOPs (real tokens only:
// encoder layers, attention, MLM head) per second are reported as a fraction of it.
//
//   .venv-fixtures/bin/python scripts/bench/p3-make-model.py
//   npx tsc -p tsconfig.json && node scripts/bench/p3-encode.js [--docs 128] [--reps 3] [--threads 2] [--pairs default,bf16]
// GPU run (scripts/gpu-check.sh, step p3): --device cuda --pairs bf16 [--python python3]: both sides on the GPU in
// bf16; memory = each worker's peak GPU memory (scripts/bench/gpu-memory.js).
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { spawn, execSync } = require('child_process');

const { ROOT, arg } = require('./bench-args');
const { readCsrFileAll, TextTokenizer } = require(path.join(ROOT, 'dist', 'lib', 'index.js'));

const DOCS = Number(arg('--docs', '128'));
const REPS = Number(arg('--reps', '3'));
const PAIRS = arg('--pairs', 'default,bf16').split(',');
const THREADS = Number(arg('--threads', '2'));
const MAX_LENGTH = Number(arg('--max-length', '256'));
const BATCH = Number(arg('--batch-size', '32'));
const SAMPLE = Number(arg('--sample', '16'));
const DATA = path.resolve(arg('--data', path.join(ROOT, '..', 'shared', 'data', 'scifact')));
const WORK = path.resolve(arg('--work', path.join(ROOT, 'bench', 'work', 'p3')));
const MODEL = path.join(WORK, 'model');
const OUT = path.resolve(arg('--out', path.join(ROOT, 'bench', 'results', 'P3-encode.json')));
const PYTHON = arg('--python', path.join(ROOT, '.venv-fixtures', 'bin', 'python'));
const DEVICE = arg('--device', 'cpu');
const ON_GPU = DEVICE.startsWith('cuda');

/** A worker process speaking one JSON object per line; `ask` sends a command and waits for the next answer. */
function startWorker(name, command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: String(THREADS) } });
  const answers = [];
  const waiting = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { process.stderr.write(`[${name}] ${line}\n`); return; }
    if (waiting.length) waiting.shift().resolve(msg); else answers.push(msg);
  });
  child.on('exit', (code, signal) => { for (const w of waiting.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal})`)); });
  const next = () => (answers.length ? Promise.resolve(answers.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
  return {
    child,
    next,
    ask: async (cmd) => {
      child.stdin.write(cmd + '\n');
      const msg = await next();
      if (msg.error) throw new Error(`${name}: ${msg.error}`);
      return msg;
    },
    peakMb: () => {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
    },
  };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Useful FLOPs of encoding documents of these token counts with the P3 model (padding excluded). */
function usefulFlops(lengths, config) {
  const D = config.dim; const F = config.hidden_dim; const layers = config.n_layers; const V = config.vocab_size;
  let total = 0;
  for (const n of lengths) total += 2 * n * (layers * (4 * D * D + 2 * D * F) + D * D + D * V) + layers * 4 * n * n * D;
  return total;
}

const PAIR_SETTINGS = {
  default: { ours: 'default', peer: 'float32' },
  bf16: { ours: 'bfloat16', peer: 'bfloat16' },
};

function compare(oursCsr, peerRows, sampleIds) {
  const { csr, ids } = oursCsr;
  const rowOf = new Map(ids.map((id, r) => [id, r]));
  let maxRel = 0; let maxAbs = 0; let oneSided = 0; let entries = 0;
  sampleIds.forEach((id, s) => {
    const r = rowOf.get(id);
    const ours = new Map();
    for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) ours.set(csr.indices[j], csr.values[j]);
    const peer = new Map(peerRows[s].indices.map((c, k) => [c, peerRows[s].values[k]]));
    for (const c of new Set([...ours.keys(), ...peer.keys()])) {
      const a = ours.get(c) ?? 0; const b = peer.get(c) ?? 0;
      entries++;
      if ((a === 0) !== (b === 0)) oneSided++;
      maxAbs = Math.max(maxAbs, Math.abs(a - b));
      const scale = Math.max(Math.abs(a), Math.abs(b));
      if (scale >= 1e-3) maxRel = Math.max(maxRel, Math.abs(a - b) / scale);
    }
  });
  return { sampleDocs: sampleIds.length, entries, maxRelativeDiff: maxRel, relativeDiffFloor: 1e-3, maxAbsDiff: maxAbs, nonzeroOnOneSideOnly: oneSided };
}

async function main() {
  if (!fs.existsSync(path.join(MODEL, 'model.safetensors'))) throw new Error(`${MODEL} is missing: run .venv-fixtures/bin/python scripts/bench/p3-make-model.py`);
  for (const p of PAIRS) if (!PAIR_SETTINGS[p]) throw new Error(`--pairs: unknown pair ${p} (default, bf16)`);
  fs.mkdirSync(WORK, { recursive: true });
  const lines = fs.readFileSync(path.join(DATA, 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, DOCS);
  const corpus = path.join(WORK, 'corpus.jsonl');
  fs.writeFileSync(corpus, lines.join('\n') + '\n');
  const docs = lines.map((l) => JSON.parse(l));
  const texts = docs.map((d) => `${d.title} ${d.text}`);
  const textsFile = path.join(WORK, 'texts.json');
  fs.writeFileSync(textsFile, JSON.stringify(texts));
  const sample = Array.from({ length: SAMPLE }, (_, i) => Math.floor((i * docs.length) / SAMPLE));
  const config = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8'));
  const lengths = (await TextTokenizer.fromDir(MODEL).encodeDocumentIds(texts, MAX_LENGTH, { allowEmpty: true })).map((r) => r.length);
  const flops = usefulFlops(lengths, config);
  const uptimeBefore = execSync('uptime').toString().trim();
  process.stderr.write(`load before: ${uptimeBefore}\n`);
  const gemmPeak = JSON.parse(execSync(`${PYTHON} ${path.join(__dirname, 'p3-gemm-peak.py')} --threads ${THREADS}`).toString());
  process.stderr.write(`GEMM peak: ${JSON.stringify(gemmPeak)}\n`);

  const workers = {};
  for (const p of PAIRS) {
    const { ours, peer } = PAIR_SETTINGS[p];
    workers[p] = {
      ours: startWorker(`ours-${p}`, process.execPath, [path.join(__dirname, 'p3-ours.js'), MODEL, corpus, WORK, String(THREADS), String(MAX_LENGTH), String(BATCH), ours, p, DEVICE]),
      peer: startWorker(`peer-${p}`, PYTHON, [path.join(__dirname, 'p3-peer.py'), MODEL, textsFile, String(THREADS), String(MAX_LENGTH), String(BATCH), peer, DEVICE]),
    };
  }
  const ready = {};
  for (const p of PAIRS) ready[p] = { ours: await workers[p].ours.next(), peer: await workers[p].peer.next() };
  process.stderr.write(`ready: ${JSON.stringify(ready)}\n`);
  const gpuMemory = ON_GPU ? require('./gpu-memory').startGpuMemoryPoller(PAIRS.flatMap((p) => [workers[p].ours.child.pid, workers[p].peer.child.pid])) : null;
  for (const p of PAIRS) { await workers[p].ours.ask(`warm ${BATCH}`); await workers[p].peer.ask(`warm ${BATCH}`); }
  const times = {};
  for (const p of PAIRS) times[p] = { ours: [], peer: [] };
  const order = PAIRS.flatMap((p) => [[p, 'ours'], [p, 'peer']]);
  for (let rep = 0; rep < REPS; rep++) {
    for (const [p, side] of rep % 2 ? [...order].reverse() : order) {
      const a = await workers[p][side].ask('run');
      if (a.docs !== DOCS) throw new Error(`${side}-${p} encoded ${a.docs} documents, expected ${DOCS}`);
      times[p][side].push(a.seconds);
      process.stderr.write(`rep ${rep + 1}/${REPS}: ${side}-${p} ${a.seconds.toFixed(2)} s\n`);
    }
  }
  const results = {};
  for (const p of PAIRS) {
    const dumpFile = path.join(WORK, `peer-sample-${p}.json`);
    await workers[p].peer.ask(`dump ${dumpFile} ${JSON.stringify(sample)}`);
    const peak = gpuMemory ? { ours: gpuMemory.peakMb(workers[p].ours.child.pid), peer: gpuMemory.peakMb(workers[p].peer.child.pid) }
      : { ours: workers[p].ours.peakMb(), peer: workers[p].peer.peakMb() };
    workers[p].ours.child.stdin.end('quit\n');
    workers[p].peer.child.stdin.end('quit\n');
    const check = compare(readCsrFileAll(path.join(WORK, `ours-${p}.csr`)), JSON.parse(fs.readFileSync(dumpFile, 'utf8')), sample.map((i) => docs[i]._id));
    const peakGflops = PAIR_SETTINGS[p].peer === 'bfloat16' ? gemmPeak.bf16_gflops : gemmPeak.fp32_peak_gflops;
    const side = (who, name) => {
      const m = median(times[p][who]);
      return { name, dtype: who === 'ours' ? ready[p].ours.dtype : ready[p].peer.dtype, median_s: m, peak_mb: Math.round(peak[who]),
        docs_per_s: DOCS / m, runs_s: times[p][who], useful_gflops: flops / m / 1e9, fraction_of_gemm_peak: flops / m / 1e9 / peakGflops };
    };
    const ours = side('ours', `l0sparse encodeCorpus (corpus.jsonl -> CSR file, fused sparse head), dtype ${ready[p].ours.dtype}, GEMM ${ready[p].ours.gemm.backend}`);
    const peer = side('peer', `sentence-transformers 6.0.1 SparseEncoder.encode_document (Transformer fill-mask + SpladePooling max relu), torch 2.13.0, ${ready[p].peer.dtype}`);
    results[p] = { ours, peer, speedup: peer.median_s / ours.median_s, memory_ratio: peak.peer / peak.ours, check, gemm: ready[p].ours.gemm };
  }
  if (gpuMemory) gpuMemory.stop();
  const uptimeAfter = execSync('uptime').toString().trim();
  const qualityFiles = fs.readdirSync(path.join(ROOT, 'bench', 'results')).filter((f) => /^P3-quality-.*\.json$/.test(f));
  const quality = Object.fromEntries(qualityFiles.map((f) => {
    const q = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'results', f), 'utf8'));
    return [f, { pass: q.pass, delta: q.delta, top10Overlap: q.top10Overlap, vectorError: q.vectorError, commit: q.commit }];
  }));

  const cpu = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] ?? 'unknown cpu';
  const main = results.default ?? results[PAIRS[0]];
  const result = {
    figure: ON_GPU ? 'P3-gpu-encode' : 'P3-encode',
    command: `node scripts/bench/p3-encode.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit: process.env.COMMIT || execSync('git rev-parse HEAD', { cwd: ROOT }).toString().trim(),
    device: DEVICE,
    memory: gpuMemory ? gpuMemory.method : 'VmHWM of each worker process',
    machine: `${ON_GPU ? `${execSync('nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader').toString().trim()}; ` : ''}${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    threads: THREADS,
    shapes: {
      docs: DOCS, maxLength: MAX_LENGTH, batchSize: BATCH, model: 'DistilBERT 6x768 (12 heads, FFN 3072), random init, vocab 30522',
      data: 'SciFact corpus, first docs, title + " " + text', prune: 'none', specialTokens: 'kept on both sides',
      dtype: `ours: ${main.ours.dtype} (library default), peer: ${main.peer.dtype} (ST default)`, tokens: lengths.reduce((a, b) => a + b, 0),
      useful_gflop: flops / 1e9,
    },
    ours: main.ours,
    peer: main.peer,
    speedup: main.speedup,
    memory_ratio: main.memory_ratio,
    check: main.check,
    bf16: results.bf16 && {
      ours: results.bf16.ours, peer: results.bf16.peer,
      speedup_vs_peer_bf16: results.bf16.speedup,
      speedup_vs_peer_fp32: results.default ? results.default.peer.median_s / results.bf16.ours.median_s : null,
      memory_ratio_vs_peer_bf16: results.bf16.memory_ratio,
      memory_ratio_vs_peer_fp32: results.default ? results.default.peer.peak_mb / results.bf16.ours.peak_mb : null,
      check: results.bf16.check,
    },
    gemm_backend: main.gemm,
    gemm_peak: gemmPeak,
    quality,
    goals: { speedup: 2, bf16_vs_peer_bf16: 1.3, memory_ratio: 2 },
    uptime: { before: uptimeBefore, after: uptimeAfter },
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
