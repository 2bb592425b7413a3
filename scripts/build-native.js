#!/usr/bin/env node
'use strict';
// Builds the native addon from source with cmake-js against the LibTorch recorded by scripts/libtorch.js,
// then places it at build/Release/l0sparse.node with a sidecar naming the LibTorch it was built for.
//
//   node scripts/build-native.js [--variant cpu|cuda] [--tests] [--sanitize] [--copy-to DIR]
// Env: L0SPARSE_BUILD_DIR (cmake build folder, default build-cmake), L0SPARSE_JOBS (parallel jobs).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const libtorch = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function copyAtomic(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(src, tmp);
  fs.renameSync(tmp, dest);
}

/**
 * The LibTorch to build against. L0SPARSE_BUILD_LIBTORCH (a LibTorch root, as prebuild.js passes it) is used
 * as given and never recorded: a CUDA prebuild must not switch the LibTorch of the local install, which
 * other builds and the runtime loader read from .deps/libtorch.json.
 */
function chooseLibTorch(variant) {
  const explicit = process.env.L0SPARSE_BUILD_LIBTORCH;
  if (explicit) {
    const root = libtorch.torchRootOf(explicit);
    if (!root) throw new Error(`L0SPARSE_BUILD_LIBTORCH=${explicit} is not a LibTorch (no share/cmake/Torch)`);
    const choice = libtorch.describeRoot(root);
    if (variant && choice.variant !== variant) {
      throw new Error(`L0SPARSE_BUILD_LIBTORCH names a ${choice.variant} LibTorch (${choice.version}), not ${variant}`);
    }
    return choice;
  }
  let choice = libtorch.readRecord();
  if (!choice || (variant && choice.variant !== variant) || !fs.existsSync(choice.root)) {
    choice = libtorch.record(libtorch.resolve({ variant }));
  }
  return choice;
}

/**
 * runpath: the addon's RUNPATH instead of the clone's .deps/libtorch (release builds use '$ORIGIN': the loader
 * preloads the cached LibTorch for them, see lib/native/loader.ts).
 */
function build({ variant, tests = false, sanitize = false, copyTo, buildDir, runpath } = {}) {
  const choice = chooseLibTorch(variant);
  const out = path.resolve(ROOT, buildDir || process.env.L0SPARSE_BUILD_DIR ||
    (sanitize ? 'build-asan' : 'build-cmake'));
  const jobs = process.env.L0SPARSE_JOBS || String(os.cpus().length);
  const defs = [
    `TORCH_ROOT=${fs.realpathSync(choice.root)}`,
    `L0SPARSE_CUDA=${choice.variant === 'cuda' ? 'ON' : 'OFF'}`,
    `L0SPARSE_TESTS=${tests ? 'ON' : 'OFF'}`,
    `L0SPARSE_SANITIZE=${sanitize ? 'ON' : 'OFF'}`,
  ];
  if (choice.variant === 'cuda') {
    const wheel = path.dirname(fs.realpathSync(choice.root));
    const cudaRoot = process.env.CUDA_HOME || '/usr/local/cuda';
    defs.push(`CUDAToolkit_ROOT=${cudaRoot}`, `CMAKE_CUDA_COMPILER=${cudaRoot}/bin/nvcc`,
      `CUDA_TOOLKIT_ROOT_DIR=${cudaRoot}`,
      `L0SPARSE_RUNPATH=$ORIGIN/../../.deps/libtorch/lib:$ORIGIN/../../.deps/libtorch/../nvidia/cu13/lib`,
      `L0SPARSE_CUDA_EXTRA_INCLUDE=${path.join(wheel, 'nvidia', 'cu13', 'include')}`);
    // torch links nvrtc; a toolkit without it (only nvcc installed) can use the wheel's copy.
    const nvrtc = path.join(wheel, 'nvidia', 'cu13', 'lib', 'libnvrtc.so.13');
    if (!fs.existsSync(path.join(cudaRoot, 'lib64', 'libnvrtc.so')) && fs.existsSync(nvrtc)) {
      defs.push(`CUDA_nvrtc_LIBRARY=${nvrtc}`);
    }
    process.env.TORCH_CUDA_ARCH_LIST = process.env.TORCH_CUDA_ARCH_LIST || '8.0;9.0';
    defs.push(`L0SPARSE_CUDA_ARCH_LIST=${process.env.TORCH_CUDA_ARCH_LIST}`);  // a change reconfigures
  }
  if (runpath) defs.push(`L0SPARSE_RUNPATH=${runpath}`);  // later -D wins over the CUDA default above
  if (spawnSync('ccache', ['--version'], { stdio: 'ignore' }).status === 0) {
    defs.push('CMAKE_CXX_COMPILER_LAUNCHER=ccache', 'CMAKE_CUDA_COMPILER_LAUNCHER=ccache');
    // Without these ccache refuses to cache translation units that use the precompiled header.
    process.env.CCACHE_SLOPPINESS = process.env.CCACHE_SLOPPINESS || 'pch_defines,time_macros,include_file_mtime,include_file_ctime';
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const common = ['--out', out, '--parallel', jobs, '--log-level', 'warn', ...defs.map((d) => `--CD${d}`)];
  const t0 = Date.now();
  // cmake-js build configures only when no cache exists, so changed options need an explicit configure.
  const stamp = path.join(out, 'l0sparse-options.json');
  let previous = null;
  try { previous = fs.readFileSync(stamp, 'utf8'); } catch { /* first build */ }
  if (previous !== JSON.stringify(defs)) {
    const c = spawnSync(process.execPath, [cmakeJs, 'configure', ...common], { cwd: ROOT, stdio: 'inherit' });
    if (c.status !== 0) throw new Error(`cmake-js configure failed (exit ${c.status}); build folder ${out}`);
    fs.writeFileSync(stamp, JSON.stringify(defs));
  }
  const r = spawnSync(process.execPath, [cmakeJs, 'build', ...common], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`cmake-js build failed (exit ${r.status}); build folder ${out}`);
  const built = path.join(out, 'Release', 'l0sparse.node');
  const dest = path.join(copyTo ? path.resolve(copyTo) : path.join(ROOT, 'build', 'Release'), 'l0sparse.node');
  copyAtomic(built, dest);
  const info = { tag: choice.tag, variant: choice.variant, torch: choice.version, builtFrom: 'source' };
  fs.writeFileSync(dest.replace(/\.node$/, '.json'), JSON.stringify(info, null, 2) + '\n');
  process.stderr.write(`[l0sparse:build] ${dest} (${choice.tag}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return { out, dest, choice };
}

module.exports = { build };

if (require.main === module) {
  try {
    build({ variant: arg('--variant') || process.env.L0SPARSE_VARIANT, tests: process.argv.includes('--tests'),
      sanitize: process.argv.includes('--sanitize'), copyTo: arg('--copy-to') });
  } catch (e) {
    process.stderr.write(`[l0sparse:build] error: ${e.message}\n`);
    process.exit(1);
  }
}
