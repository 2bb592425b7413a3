#!/usr/bin/env node
'use strict';
// Benchmark P3: corpus encoding docs/s of l0sparse (encodeCorpus: the whole pipeline from corpus.jsonl to a
// CSR file) vs sentence-transformers 6 SparseEncoder.encode_document, on the same checkpoint (a random-init
// DistilBERT 6x768 with the bert-base-uncased vocabulary, scripts/bench/p3-make-model.py) and the same
// SciFact texts (title + " " + text). Same max length, batch size and thread count; no pruning and special
// tokens kept on both sides so that the vectors can be compared. Each side runs in its own worker process
// (p3-ours.js, p3-peer.py) loaded once; timed passes are interleaved (ours, peer, ours, ...) after a warm-up
// and the medians are reported. Peak memory = VmHWM of each worker process.
//
//   .venv-fixtures/bin/python scripts/bench/p3-make-model.py
//   npx tsc -p tsconfig.json && node scripts/bench/p3-encode.js [--docs 256] [--reps 5] [--threads 2]
// GPU run (scripts/gpu-check.sh, step p3): --device cuda --dtype bfloat16 [--python python3]: both sides on the
// GPU, bf16 autocast on both; memory = each worker's peak GPU memory (scripts/bench/gpu-memory.js).
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { spawn, execSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const { readCsrFileAll } = require(path.join(ROOT, 'dist', 'lib', 'index.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const DOCS = Number(arg('--docs', '256'));
const REPS = Number(arg('--reps', '5'));
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
const DTYPE = { bf16: 'bfloat16', fp32: 'float32' }[arg('--dtype', 'float32')] ?? arg('--dtype', 'float32');
const ON_GPU = DEVICE.startsWith('cuda');
const { startGpuMemoryPoller } = require('./gpu-memory');

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
  fs.mkdirSync(WORK, { recursive: true });
  const lines = fs.readFileSync(path.join(DATA, 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, DOCS);
  const corpus = path.join(WORK, 'corpus.jsonl');
  fs.writeFileSync(corpus, lines.join('\n') + '\n');
  const docs = lines.map((l) => JSON.parse(l));
  const textsFile = path.join(WORK, 'texts.json');
  fs.writeFileSync(textsFile, JSON.stringify(docs.map((d) => `${d.title} ${d.text}`)));
  const sample = Array.from({ length: SAMPLE }, (_, i) => Math.floor((i * docs.length) / SAMPLE));
  const uptimeBefore = execSync('uptime').toString().trim();

  const ours = startWorker('ours', process.execPath, [path.join(__dirname, 'p3-ours.js'), MODEL, corpus, WORK, String(THREADS), String(MAX_LENGTH), String(BATCH), DEVICE, DTYPE]);
  const peer = startWorker('peer', PYTHON, [path.join(__dirname, 'p3-peer.py'), MODEL, textsFile, String(THREADS), String(MAX_LENGTH), String(BATCH), DEVICE, DTYPE]);
  const [oursReady, peerReady] = await Promise.all([ours.next(), peer.next()]);
  const gpuMemory = ON_GPU ? startGpuMemoryPoller([ours.child.pid, peer.child.pid]) : null;
  process.stderr.write(`ready: ours ${JSON.stringify(oursReady)} peer ${JSON.stringify(peerReady)}\n`);
  await ours.ask(`warm ${BATCH}`);
  await peer.ask(`warm ${BATCH}`);
  const oursRuns = []; const peerRuns = [];
  for (let rep = 0; rep < REPS; rep++) {
    const a = await ours.ask('run');
    oursRuns.push(a.seconds);
    const b = await peer.ask('run');
    peerRuns.push(b.seconds);
    if (a.docs !== DOCS || b.docs !== DOCS) throw new Error(`a run encoded ${a.docs} / ${b.docs} documents, expected ${DOCS}`);
    process.stderr.write(`rep ${rep + 1}/${REPS}: ours ${a.seconds.toFixed(2)} s, sentence-transformers ${b.seconds.toFixed(2)} s\n`);
  }
  const dumpFile = path.join(WORK, 'peer-sample.json');
  await peer.ask(`dump ${dumpFile} ${JSON.stringify(sample)}`);
  const peak = gpuMemory ? { ours: gpuMemory.peakMb(ours.child.pid), peer: gpuMemory.peakMb(peer.child.pid) }
    : { ours: ours.peakMb(), peer: peer.peakMb() };
  if (gpuMemory) gpuMemory.stop();
  ours.child.stdin.end('quit\n');
  peer.child.stdin.end('quit\n');
  const check = compare(readCsrFileAll(path.join(WORK, 'ours.csr')), JSON.parse(fs.readFileSync(dumpFile, 'utf8')), sample.map((i) => docs[i]._id));
  const uptimeAfter = execSync('uptime').toString().trim();

  const oursMedian = median(oursRuns); const peerMedian = median(peerRuns);
  const cpu = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] ?? 'unknown cpu';
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
      data: 'SciFact corpus, first docs, title + " " + text', prune: 'none', specialTokens: 'kept on both sides', dtype: DTYPE === 'bfloat16' ? 'bfloat16 autocast (both sides)' : 'float32',
    },
    ours: {
      name: 'l0sparse encodeCorpus (corpus.jsonl -> CSR file, fused sparse head)', median_s: oursMedian, peak_mb: Math.round(peak.ours),
      docs_per_s: DOCS / oursMedian, runs_s: oursRuns,
    },
    peer: {
      name: `sentence-transformers 6.0.1 SparseEncoder.encode_document (Transformer fill-mask + SpladePooling max relu), torch ${peerReady.torch}`,
      median_s: peerMedian, peak_mb: Math.round(peak.peer), docs_per_s: DOCS / peerMedian, runs_s: peerRuns,
    },
    speedup: peerMedian / oursMedian,
    memory_ratio: peak.peer / peak.ours,
    check,
    ...(ON_GPU ? { goal: { speedup: 2 } } : {}),
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
