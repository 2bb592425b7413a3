#!/usr/bin/env node
'use strict';
// Makes a prebuild named after its LibTorch version and variant:
//   prebuilds/<platform>-<arch>/l0sparse.napi.torch2130-cpu.node   (npm run prebuild)
//   prebuilds/<platform>-<arch>/l0sparse.napi.torch2141-cu130.node (npm run prebuild:cuda)
// prebuildify drives node-gyp, whose binding.gyp delegates to cmake-js (scripts/build-native.js).
// The LibTorch of the variant is resolved (installed into .deps/ if needed) but never recorded: it reaches
// build-native.js through L0SPARSE_BUILD_LIBTORCH, so .deps/libtorch.json and the .deps/libtorch link (which
// the local install, other builds and the loader read) stay as they are. Each variant builds in its own
// folder (build-cmake-<variant>). The addon's RUNPATH goes through .deps/libtorch, so a CUDA prebuild
// loads where .deps/libtorch is the CUDA wheel's torch (L0SPARSE_VARIANT=cuda npm install).
// Env: L0SPARSE_JOBS (parallel compile jobs), TORCH_CUDA_ARCH_LIST (default "8.0;9.0").
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const libtorch = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');
const i = process.argv.indexOf('--variant');
const variant = (i >= 0 && process.argv[i + 1]) || 'cpu';

let choice;
try {
  choice = libtorch.resolve({ variant });
} catch (e) {
  process.stderr.write(`[l0sparse:prebuild] ${e.message}\n`);
  process.exit(1);
}
if (choice.variant !== variant) {
  process.stderr.write(`[l0sparse:prebuild] L0SPARSE_LIBTORCH names a ${choice.variant} LibTorch, not ${variant}\n`);
  process.exit(1);
}
// prebuildify runs `node-gyp rebuild`, which wipes ./build, where build/Release/l0sparse.node is the addon of
// the local install (and of everyone's tests in a shared tree): run it from a staging folder that links the
// package's inputs instead. build-native.js resolves the real root from its own path, so the CMake build
// folder and .deps are the project's; only node-gyp's build/ and prebuildify's output land in the stage.
const stage = path.join(ROOT, `build-prebuild-${variant}`);
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
for (const name of ['package.json', 'binding.gyp', 'CMakeLists.txt', 'native', 'scripts', 'node_modules']) {
  fs.symlinkSync(path.join(ROOT, name), path.join(stage, name));
}
const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const plain = path.join(stage, 'prebuilds', `${process.platform}-${process.arch}`, 'l0sparse.node');
const prebuildify = require.resolve('prebuildify/bin.js');
const t0 = Date.now();
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--name', 'l0sparse'], {
  cwd: stage, stdio: 'inherit',
  env: { ...process.env, L0SPARSE_VARIANT: variant, L0SPARSE_BUILD_LIBTORCH: choice.root,
    L0SPARSE_BUILD_DIR: `build-cmake-${variant}` },
});
if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
const dest = path.join(dir, `l0sparse.napi.${choice.tag}.node`);
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(plain, `${dest}.${process.pid}.tmp`);
fs.renameSync(`${dest}.${process.pid}.tmp`, dest);
fs.rmSync(stage, { recursive: true, force: true });
const ldd = spawnSync('ldd', [dest], { encoding: 'utf8' });
const runpath = spawnSync('readelf', ['-d', dest], { encoding: 'utf8' }).stdout || '';
process.stdout.write(`[l0sparse:prebuild] ${path.relative(ROOT, dest)} (${choice.tag}, ` +
  `${((Date.now() - t0) / 1000).toFixed(0)} s)\n${(runpath.match(/.*RUNPATH.*/) || [''])[0].trim()}\n` +
  `${ldd.stdout || ldd.stderr}`);
