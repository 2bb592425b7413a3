#!/usr/bin/env node
'use strict';
// Compiles every native/**/*.cu with `nvcc -c` against the headers of the recorded (CPU) LibTorch, so CUDA
// code cannot rot on machines without a GPU or a CUDA LibTorch. A CPU wheel ships the c10/cuda headers but
// not the one CMake generates for CUDA builds (c10/cuda/impl/cuda_cmake_macros.h): a stub of it is written
// to a temporary include folder. Kernels must include c10/cuda/CUDAStream.h-level headers only (no
// ATen/cuda/CUDAContext.h, which needs cuBLAS/cuSPARSE headers: see docs/CONTRIBUTING.md, "Build facts and
// pitfalls").
//
//   node scripts/check-cuda-syntax.js [--arch 80,90] [--ptx-only] [files...]   (default: all .cu under native/)
// Device code is compiled for each listed architecture (default: 90 only, which compiles the sm_80+ tensor-core
// paths; every extra arch is another full device compile: sm_80 + sm_90 roughly doubles the cost). --ptx-only
// stops at PTX (no ptxas): cheaper, still every front-end and NVVM error.
// Env: NVCC (default: $CUDA_HOME/bin/nvcc, /usr/local/cuda/bin/nvcc, then nvcc on PATH),
//      L0SPARSE_JOBS (parallel compiles, default: number of cores, at most 4),
//      L0SPARSE_CUDA_ARCHS (same as --arch).
// Exits 0 with a printed reason when nvcc or LibTorch headers are absent (nothing to check against).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');

function log(msg) { process.stderr.write(`[l0sparse:cuda-syntax] ${msg}\n`); }

function findNvcc() {
  const candidates = [process.env.NVCC, process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    '/usr/local/cuda/bin/nvcc', 'nvcc'].filter(Boolean);
  for (const c of candidates) {
    if (spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) return c;
  }
  return null;
}

function torchInclude() {
  const link = path.join(ROOT, '.deps', 'libtorch', 'include');
  if (fs.existsSync(path.join(link, 'ATen', 'ATen.h'))) return link;
  try {
    const choice = require('./libtorch').readRecord();
    const inc = choice && path.join(choice.root, 'include');
    if (inc && fs.existsSync(path.join(inc, 'ATen', 'ATen.h'))) return inc;
  } catch { /* no record */ }
  return null;
}

function cuFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...cuFiles(p));
    else if (entry.name.endsWith('.cu')) out.push(p);
  }
  return out.sort();
}

function compile(nvcc, args, file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(nvcc, [...args, file], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('close', (code) => resolve({ file, code, output, seconds: (Date.now() - t0) / 1000 }));
  });
}

function parseArgs(argv) {
  const options = { archs: (process.env.L0SPARSE_CUDA_ARCHS || '90').split(','), ptxOnly: false, files: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--arch') options.archs = String(argv[++i] || '').split(',');
    else if (argv[i] === '--ptx-only') options.ptxOnly = true;
    else options.files.push(argv[i]);
  }
  options.archs = options.archs.map((a) => a.trim().replace(/^sm_/, '').replace('.', '')).filter(Boolean);
  const bad = options.archs.filter((a) => !/^\d{2,3}a?$/.test(a));
  if (!options.archs.length || bad.length) {
    throw new Error(`--arch / L0SPARSE_CUDA_ARCHS must list compute capabilities like 80,90 (got '${bad.join(',')}')`);
  }
  return options;
}

async function main() {
  const nvcc = findNvcc();
  if (!nvcc) { log('skipped: nvcc not found (set NVCC or CUDA_HOME to check the .cu files)'); return 0; }
  const include = torchInclude();
  if (!include) { log('skipped: no LibTorch headers in .deps/libtorch (run `node scripts/libtorch.js` first)'); return 0; }
  const options = parseArgs(process.argv.slice(2));
  const files = options.files.length ? options.files.map((f) => path.resolve(f)) : cuFiles(path.join(ROOT, 'native'));
  const gencode = options.archs.flatMap((a) => ['-gencode', `arch=compute_${a},code=${options.ptxOnly ? 'compute' : 'sm'}_${a}`]);
  if (!files.length) { log('no .cu files under native/'); return 0; }

  const stubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-cuda-syntax-'));
  const objDir = path.join(stubDir, 'obj');
  fs.mkdirSync(path.join(stubDir, 'c10', 'cuda', 'impl'), { recursive: true });
  fs.mkdirSync(objDir);
  // What torch's CMake generates for a shared-library CUDA build.
  fs.writeFileSync(path.join(stubDir, 'c10', 'cuda', 'impl', 'cuda_cmake_macros.h'),
    '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n');

  const jobs = Math.max(1, Math.min(Number(process.env.L0SPARSE_JOBS) || os.cpus().length, 4));
  const t0 = Date.now();
  const results = [];
  const queue = files.slice();
  async function worker() {
    while (queue.length) {
      const file = queue.shift();
      const obj = path.join(objDir, `${path.basename(file)}.o`);
      // -O0 and no device code optimisation: this is a front-end check, not a build.
      const args = ['-c', '-std=c++20', '-O0', '-Xcompiler', '-fPIC', '--expt-relaxed-constexpr',
        '-D_GLIBCXX_USE_CXX11_ABI=1', '-DL0SPARSE_WITH_CUDA=1', `-I${path.join(ROOT, 'native')}`, `-I${stubDir}`,
        `-I${include}`, `-I${path.join(include, 'torch', 'csrc', 'api', 'include')}`, ...gencode, '-o', obj];
      const r = await compile(nvcc, args, file);
      results.push(r);
      log(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${path.relative(ROOT, file)} (${r.seconds.toFixed(1)} s)`);
      if (r.code !== 0) process.stderr.write(r.output);
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker));
  fs.rmSync(stubDir, { recursive: true, force: true });
  const failed = results.filter((r) => r.code !== 0);
  log(`${results.length - failed.length}/${results.length} .cu files compile with ${nvcc} for ` +
    `${options.archs.map((a) => `sm_${a}`).join(', ')}${options.ptxOnly ? ' (PTX only)' : ''} ` +
    `(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return failed.length ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => { log(`error: ${e.stack || e}`); process.exit(1); });
