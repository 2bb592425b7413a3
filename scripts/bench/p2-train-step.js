#!/usr/bin/env node
'use strict';
// Benchmark P2 (docs/BENCHMARKS.md): one training step, ours (NativeTrainer.trainStep) vs sentence-transformers
// 6.0.1 (SparseEncoder + SpladeLoss(SparseDistillKLDivLoss, FlopsLoss(threshold=200)), log1p_relu pooling),
// same DistilBERT (6 x 768, vocab 30522) initial weights, 16 docs (8 queries x 2) x 256 tokens, 2 threads, AdamW.
// Both sides run as persistent worker processes (each loads once); steps are interleaved A B / B A per round
// after warm-up, and each side's peak RSS is its own process's getrusage max RSS.
//   .venv-fixtures/bin/python scripts/bench/p2-setup.py       # once: bench/work/p2/{model,batch.json}
//   npx tsc -p tsconfig.json
//   node scripts/bench/p2-train-step.js [--rounds 5] [--warmup 1] [--out bench/results/P2-train-step.json]
// GPU run (scripts/gpu-check.sh, step p2): --device cuda [--bf16] [--python python3]: both sides on the GPU, bf16
// autocast on both with --bf16; memory = each process's peak GPU memory (scripts/bench/gpu-memory.js).
const { spawn, execSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const REPO = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const ROUNDS = Number(opt('rounds', '5'));
const WARMUP = Number(opt('warmup', '1'));
// Stop starting new rounds after this many seconds (shared machines); the JSON records the rounds done.
const MAX_SECONDS = Number(opt('max-seconds', 'Infinity'));
const OUT = opt('out', path.join(REPO, 'bench', 'results', 'P2-train-step.json'));
const WORK = path.join(REPO, 'bench', 'work', 'p2');
const THREADS = 2;
const DEVICE = opt('device', 'cpu');
const BF16 = args.includes('--bf16');
const ON_GPU = DEVICE.startsWith('cuda');
const { startGpuMemoryPoller } = require('./gpu-memory');

function worker(name, cmd, argv) {
  const env = { ...process.env, OMP_NUM_THREADS: String(THREADS), MKL_NUM_THREADS: String(THREADS), P2_THREADS: String(THREADS), TOKENIZERS_PARALLELISM: 'false', P2_DEVICE: DEVICE, P2_BF16: BF16 ? '1' : '0' };
  const child = spawn(cmd, argv, { cwd: REPO, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  let exited = null;
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line); else console.error(`[${name}] ${line}`);
  });
  child.on('exit', (code) => {
    exited = new Error(`${name} exited with ${code}`);
    while (waiting.length) waiting.shift().reject(exited);
  });
  const next = () => new Promise((resolve, reject) => {
    if (exited) reject(exited); else waiting.push({ resolve, reject });
  });
  return {
    name, child,
    ready: next(),
    async send(c) { const p = next(); child.stdin.write(`${c}\n`); return p; },
    async step() { const [tag, s, loss] = (await this.send('step')).split(' '); if (tag !== 'step') throw new Error(`${name}: ${tag}`); return { s: Number(s), loss: Number(loss) }; },
    async rss() { return Number((await this.send('rss')).split(' ')[1]); },
    quit() { if (exited) return Promise.resolve(); child.stdin.write('quit\n'); return new Promise((r) => child.once('exit', r)); },
  };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function main() {
  if (!fs.existsSync(path.join(WORK, 'batch.json'))) throw new Error('run scripts/bench/p2-setup.py first');
  const uptimeBefore = execSync('uptime').toString().trim();
  const python = opt('python', fs.existsSync(path.join(REPO, '.venv-fixtures', 'bin', 'python')) ? path.join(REPO, '.venv-fixtures', 'bin', 'python') : 'python3');
  const ours = worker('ours', process.execPath, [path.join(__dirname, 'p2-ours-worker.js'), WORK]);
  const peer = worker('sentence-transformers', python, [path.join(__dirname, 'p2-st-worker.py'), WORK]);
  await Promise.all([ours.ready, peer.ready]);
  const gpuMemory = ON_GPU ? startGpuMemoryPoller([ours.child.pid, peer.child.pid]) : null;
  const times = { ours: [], peer: [] }; const losses = { ours: [], peer: [] };
  for (let i = 0; i < WARMUP; i++) { losses.ours.push((await ours.step()).loss); losses.peer.push((await peer.step()).loss); }
  const start = Date.now();
  let rounds = 0;
  for (let r = 0; r < ROUNDS && (r < 1 || (Date.now() - start) / 1000 < MAX_SECONDS); r++, rounds++) {
    const order = r % 2 === 0 ? [['peer', peer], ['ours', ours]] : [['ours', ours], ['peer', peer]];
    for (const [key, w] of order) {
      const { s, loss } = await w.step();
      times[key].push(s); losses[key].push(loss);
      console.error(`round ${r} ${key}: ${s.toFixed(3)} s (loss ${loss})`);
    }
  }
  const rss = gpuMemory ? { ours: gpuMemory.peakMb(ours.child.pid), peer: gpuMemory.peakMb(peer.child.pid) }
    : { ours: await ours.rss(), peer: await peer.rss() };
  if (gpuMemory) gpuMemory.stop();
  await Promise.all([ours.quit(), peer.quit()]);
  const uptimeAfter = execSync('uptime').toString().trim();
  const ourMedian = median(times.ours); const peerMedian = median(times.peer);
  const versions = execSync(`${python} -c "import torch, transformers, sentence_transformers as st; print(st.__version__, transformers.__version__, torch.__version__)"`).toString().trim().split(' ');
  const result = {
    figure: ON_GPU ? 'P2-gpu-train-step' : 'P2-train-step',
    device: DEVICE,
    memory: gpuMemory ? gpuMemory.method : 'peak RSS (getrusage) of each worker process',
    command: `${process.env.L0SPARSE_ADDON ? `L0SPARSE_ADDON=$PWD/${path.relative(REPO, process.env.L0SPARSE_ADDON)} ` : ''}node scripts/bench/p2-train-step.js ${args.join(' ')}`.trim(),
    commit: process.env.COMMIT || execSync('git rev-parse HEAD', { cwd: REPO }).toString().trim(),
    machine: `${ON_GPU ? `${execSync('nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader').toString().trim()}; ` : ''}${os.cpus()[0].model}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    load: { before: uptimeBefore, after: uptimeAfter },
    threads: THREADS,
    shapes: { model: 'DistilBERT MLM 6 layers x 768, 12 heads, FFN 3072, vocab 30522 (random init, transformers, seed 0)', queries: 8, groupSize: 2, docs: 16, seqLen: 256, dtype: BF16 ? 'bfloat16 autocast (both sides)' : 'float32' },
    objective: 'KL distillation T=1 over each query\'s 2 docs + 0.04 * FLOPS (threshold 200, one mean over all 16 docs), l0 activation k=1 = log1p_relu; AdamW lr 2e-5 wd 0.01 (no decay on bias/LayerNorm), grad clipping 1.0',
    repeats: rounds, repeatsAsked: ROUNDS, warmup: WARMUP, interleaving: 'persistent worker per side; per round peer,ours then ours,peer alternately',
    ours: { name: 'l0sparse NativeTrainer.trainStep (node)', median_s: ourMedian, steps_per_s: 1 / ourMedian, peak_mb: rss.ours, times_s: times.ours, losses: losses.ours },
    peer: { name: `sentence-transformers ${versions[0]} SparseEncoder + SpladeLoss (transformers ${versions[1]}, torch ${versions[2]})`, median_s: peerMedian, steps_per_s: 1 / peerMedian, peak_mb: rss.peer, times_s: times.peer, losses: losses.peer },
    speedup: peerMedian / ourMedian,
    memory_ratio: rss.peer / rss.ours,
    goal: ON_GPU ? { speedup: 1.5 } : { speedup: 1.5, memory_ratio: 2 },
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ ours_s: ourMedian, peer_s: peerMedian, speedup: result.speedup, ours_mb: rss.ours, peer_mb: rss.peer, memory_ratio: result.memory_ratio }));
}

main().catch((e) => { console.error(e); process.exit(1); });
