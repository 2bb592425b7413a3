#!/usr/bin/env node
'use strict';
// Makes a prebuild named after its LibTorch version and variant:
//   prebuilds/<platform>-<arch>/l0sparse.napi.torch2130-cpu.node   (npm run prebuild)
//   prebuilds/<platform>-<arch>/l0sparse.napi.torch2141-cu130.node (npm run prebuild:cuda)
// prebuildify drives node-gyp, whose binding.gyp delegates to cmake-js (scripts/build-native.js).
// The LibTorch chosen before the run is restored afterwards, so a CUDA prebuild never changes the
// LibTorch the local install uses.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const libtorch = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');
const variant = process.argv[process.argv.indexOf('--variant') + 1] || 'cpu';
const previous = libtorch.readRecord();
const choice = libtorch.record(libtorch.resolve({ variant }));
if (choice.variant !== variant) {
  process.stderr.write(`[l0sparse:prebuild] L0SPARSE_LIBTORCH names a ${choice.variant} LibTorch, not ${variant}\n`);
  process.exit(1);
}
const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const plain = path.join(dir, 'l0sparse.node'); // prebuildify --napi names it after the package only
fs.rmSync(plain, { force: true });
const prebuildify = require.resolve('prebuildify/bin.js');
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--name', 'l0sparse'], {
  cwd: ROOT, stdio: 'inherit',
  env: { ...process.env, L0SPARSE_VARIANT: variant, L0SPARSE_BUILD_DIR: `build-cmake-${variant}` },
});
let status = r.status;
if (status === 0) {
  const dest = path.join(dir, `l0sparse.napi.${choice.tag}.node`);
  fs.renameSync(plain, dest);
  const ldd = spawnSync('ldd', [dest], { encoding: 'utf8' });
  process.stdout.write(`[l0sparse:prebuild] ${path.relative(ROOT, dest)}\n${ldd.stdout || ldd.stderr}`);
}
if (previous && previous.tag !== choice.tag) libtorch.record(previous);
process.exit(status === null ? 1 : status);
