#!/usr/bin/env node
'use strict';
// Finds (or installs) the LibTorch the native addon builds and runs against, and records the choice in
// .deps/libtorch.json plus a stable symlink .deps/libtorch -> <torch root>, so that the build (CMake
// prefix, RUNPATH) and the runtime loader (prebuild tag) always agree on one LibTorch.
//
// Order: L0SPARSE_LIBTORCH (a LibTorch root or its share/cmake/Torch dir) -> an installed Python torch
// -> pip install of the pinned torch into .deps/ (git-ignored).
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const DEPS = path.join(ROOT, '.deps');
const RECORD = path.join(DEPS, 'libtorch.json');
const LINK = path.join(DEPS, 'libtorch');
const PINNED = { cpu: '2.13.0', cuda: '2.14.1' };

function log(msg) { process.stderr.write(`[l0sparse:libtorch] ${msg}\n`); }

/** Normalises a user-given path (root, share/cmake/Torch, or python package dir) to the LibTorch root. */
function torchRootOf(p) {
  let dir = path.resolve(p);
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake')) &&
        fs.existsSync(path.join(dir, 'lib'))) return dir;
    dir = path.dirname(dir);
  }
  return null;
}

/** Version and variant of a LibTorch root: python wheels carry version.py, LibTorch zips build-version. */
function describeRoot(root) {
  let version = null; let cuda = null;
  const versionPy = path.join(root, 'version.py');
  if (fs.existsSync(versionPy)) {
    const text = fs.readFileSync(versionPy, 'utf8');
    version = (text.match(/__version__\s*=\s*'([^']+)'/) || [])[1] || null;
    const c = text.match(/^cuda(?::[^=]*)?=\s*'([^']+)'/m);
    cuda = c ? c[1] : null;
  } else if (fs.existsSync(path.join(root, 'build-version'))) {
    version = fs.readFileSync(path.join(root, 'build-version'), 'utf8').trim();
    const m = version.match(/\+cu(\d+)/);
    if (m) cuda = `${m[1].slice(0, -1)}.${m[1].slice(-1)}`;
  }
  if (!cuda && fs.existsSync(path.join(root, 'lib', 'libtorch_cuda.so'))) cuda = 'unknown';
  if (!version) throw new Error(`cannot tell the version of the LibTorch at ${root} (no version.py or build-version)`);
  const base = version.split('+')[0];
  const variant = cuda ? 'cuda' : 'cpu';
  const tag = `torch${base.replace(/\./g, '')}-${cuda ? 'cu' + String(cuda).replace('.', '') : 'cpu'}`;
  return { root, version, base, variant, cuda, tag };
}

function pythonTorch(python) {
  const r = spawnSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'],
    { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0 || !r.stdout) return null;
  return torchRootOf(r.stdout.trim());
}

function pip(python, args) {
  log(`${python} -m pip ${args.join(' ')}`);
  const r = spawnSync(python, ['-m', 'pip', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PIP_RETRIES: '0' } });
  if (r.status !== 0) throw new Error(`pip ${args.join(' ')} failed (exit ${r.status})`);
}

/** Requires-Dist lines of an installed dist-info: [{name, spec, marker}]. */
function requirementsOf(site, distName) {
  const info = fs.readdirSync(site).find((d) => new RegExp(`^${distName}-[^-]+\\.dist-info$`, 'i').test(d));
  if (!info) throw new Error(`no ${distName} metadata in ${site}`);
  const meta = fs.readFileSync(path.join(site, info, 'METADATA'), 'utf8');
  // Line by line: a pattern over the whole text would let one requirement's version run into the next line.
  return meta.split('\n').map((line) => /^Requires-Dist: ([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([^;]*)(?:;\s*(.*))?$/.exec(line))
    .filter(Boolean)
    .map((m) => ({ name: m[1], extras: m[2] ? m[2].slice(1, -1).split(',') : [], spec: m[3].replace(/\s+/g, ''),
      marker: (m[4] || '').trim() }));
}

/**
 * The CUDA libraries a CUDA torch wheel needs at run time, as pip requirement strings. Only shared-library
 * wheels: cuda-bindings (Python bindings, not on the offline mirror) and triton are not needed by C++.
 * torch 2.14 names cuda-toolkit[cublas,cudart,...]: its extras are expanded from cuda-toolkit's metadata.
 */
function cudaLibraryRequirements(site, python, common) {
  const linux = (r) => !/extra ==/.test(r.marker) &&
    (!r.marker || /platform_system == "Linux"|sys_platform == ['"]linux['"]/.test(r.marker));
  const wanted = requirementsOf(site, 'torch').filter(linux).filter((r) => /^(nvidia|cuda)-/.test(r.name))
    .filter((r) => r.name !== 'cuda-bindings');
  const out = [];
  for (const r of wanted) {
    if (r.name !== 'cuda-toolkit' || !r.extras.length) { out.push(r.name + r.spec); continue; }
    pip(python, [...common, `${r.name}${r.spec}`]);
    for (const dep of requirementsOf(site, 'cuda_toolkit')) {
      const extra = (dep.marker.match(/extra == '([^']+)'/) || [])[1];
      if (extra && r.extras.includes(extra) && /platform_machine == 'x86_64'/.test(dep.marker)) {
        out.push(dep.name + dep.spec);
      }
    }
  }
  return [...new Set(out)];
}

/** pip-installs the pinned torch (no dependencies: C++ needs only the wheel) into .deps/torch-<v>-<variant>. */
function installPinned(variant, python) {
  const version = PINNED[variant];
  const target = path.join(DEPS, `torch-${version}-${variant}`);
  const root = path.join(target, 'torch');
  if (torchRootOf(root)) return root;
  fs.mkdirSync(DEPS, { recursive: true });
  const tmp = `${target}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const common = ['install', '--no-deps', '--retries', '0', '--disable-pip-version-check', '--target', tmp];
  pip(python, [...common, `torch==${version}`]);
  if (variant === 'cuda') {
    // The CUDA wheel needs its nvidia-* runtime wheels; a full resolve fails offline, so install by name
    // exactly the native-library wheels torch's own metadata requires (cuda-toolkit[extras] expanded).
    const reqs = cudaLibraryRequirements(tmp, python, common);
    if (reqs.length) pip(python, [...common, '--upgrade', ...reqs]);
  }
  fs.renameSync(tmp, target);
  return root;
}

function resolve({ variant, python = process.env.L0SPARSE_PYTHON || 'python3', install = true } = {}) {
  const env = process.env.L0SPARSE_LIBTORCH || process.env.LIBTORCH;
  if (env) {
    const root = torchRootOf(env);
    if (!root) throw new Error(`L0SPARSE_LIBTORCH=${env} is not a LibTorch (no share/cmake/Torch/TorchConfig.cmake)`);
    return { ...describeRoot(root), source: 'env' };
  }
  // A Python torch of another variant is never adopted silently: without a request, the variant is cpu.
  if (variant === undefined) variant = process.env.L0SPARSE_VARIANT || 'cpu';
  const fromPython = pythonTorch(python);
  if (fromPython) {
    const d = describeRoot(fromPython);
    if (d.variant === variant) return { ...d, source: 'python' };
    log(`ignoring Python torch ${d.version} at ${fromPython}: variant ${d.variant}, wanted ${variant} (set L0SPARSE_VARIANT to change)`);
  }
  if (!PINNED[variant]) throw new Error(`unknown variant '${variant}' (use cpu or cuda)`);
  const pinnedRoot = path.join(DEPS, `torch-${PINNED[variant]}-${variant}`, 'torch');
  if (!torchRootOf(pinnedRoot) && !install) return null;
  return { ...describeRoot(installPinned(variant, python)), source: 'pinned' };
}

/** Writes the record and the symlink atomically (temp + rename). */
function record(choice) {
  fs.mkdirSync(DEPS, { recursive: true });
  const tmp = `${RECORD}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(choice, null, 2) + '\n');
  fs.renameSync(tmp, RECORD);
  const tmpLink = `${LINK}.${process.pid}.tmp`;
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(choice.root, tmpLink);
  fs.renameSync(tmpLink, LINK);
  return choice;
}

function readRecord() {
  try { return JSON.parse(fs.readFileSync(RECORD, 'utf8')); } catch { return null; }
}

module.exports = { resolve, record, readRecord, describeRoot, torchRootOf, pythonTorch, PINNED, RECORD, LINK, DEPS };

if (require.main === module) {
  const variant = (process.argv.find((a) => a.startsWith('--variant=')) || '').split('=')[1] ||
    (process.argv.includes('--variant') ? process.argv[process.argv.indexOf('--variant') + 1] : undefined);
  try {
    const choice = record(resolve({ variant }));
    process.stdout.write(JSON.stringify(choice, null, 2) + '\n');
  } catch (e) {
    log(`error: ${e.message}`);
    process.exit(1);
  }
}
