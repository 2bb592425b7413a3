#!/usr/bin/env node
'use strict';
// npm install hook: choose (or install) LibTorch, then use the matching prebuild or build from source.
const fs = require('fs');
const path = require('path');
const libtorch = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');

function fail(msg) {
  process.stderr.write(`\n[l0sparse:install] ${msg}\n\n`);
  process.exit(1);
}

let choice;
try {
  choice = libtorch.record(libtorch.resolve({}));
} catch (e) {
  fail(`could not find or install LibTorch: ${e.message}\n` +
    `Install the pinned one with \`python3 -m pip install torch==${libtorch.PINNED.cpu}\`, or point ` +
    'L0SPARSE_LIBTORCH at an unpacked LibTorch, then run `npm rebuild l0sparse`.');
}
process.stderr.write(`[l0sparse:install] LibTorch ${choice.version} (${choice.variant}, ${choice.source}) at ${choice.root}\n`);

const prebuild = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, `l0sparse.napi.${choice.tag}.node`);
if (fs.existsSync(prebuild) && !process.env.L0SPARSE_BUILD_FROM_SOURCE) {
  process.stderr.write(`[l0sparse:install] using prebuild ${path.relative(ROOT, prebuild)}\n`);
  process.exit(0);
}
try {
  require('./build-native').build({});
} catch (e) {
  fail(`no prebuild matches LibTorch ${choice.tag} and building from source failed: ${e.message}\n` +
    'Building needs cmake >= 3.25 and a C++20 compiler (Debian: `apt-get install cmake g++`).');
}
