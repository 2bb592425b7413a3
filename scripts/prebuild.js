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
const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const plain = path.join(dir, 'l0sparse.node'); // prebuildify --napi names it after the package only
fs.rmSync(plain, { force: true });
const prebuildify = require.resolve('prebuildify/bin.js');
const t0 = Date.now();
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--name', 'l0sparse'], {
  cwd: ROOT, stdio: 'inherit',
  env: { ...process.env, L0SPARSE_VARIANT: variant, L0SPARSE_BUILD_LIBTORCH: choice.root,
    L0SPARSE_BUILD_DIR: `build-cmake-${variant}` },
});
if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
const dest = path.join(dir, `l0sparse.napi.${choice.tag}.node`);
fs.renameSync(plain, dest);
const ldd = spawnSync('ldd', [dest], { encoding: 'utf8' });
const runpath = spawnSync('readelf', ['-d', dest], { encoding: 'utf8' }).stdout || '';
process.stdout.write(`[l0sparse:prebuild] ${path.relative(ROOT, dest)} (${choice.tag}, ` +
  `${((Date.now() - t0) / 1000).toFixed(0)} s)\n${(runpath.match(/.*RUNPATH.*/) || [''])[0].trim()}\n` +
  `${ldd.stdout || ldd.stderr}`);
