'use strict';
// Shared by scripts/fuzz.js and scripts/sanitize.js: the clang they build with and the LibTorch to link.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const libtorch = require('./libtorch');

/** The first clang++ that runs (CLANGXX first), or null. */
function findClang() {
  for (const c of [process.env.CLANGXX, 'clang++-14', 'clang++', 'clang++-15', 'clang++-16'].filter(Boolean)) {
    if (spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) return c;
  }
  return null;
}

/** The recorded LibTorch root (real path), or null when none is recorded or its headers are missing. */
function torchRoot() {
  const rec = libtorch.readRecord();
  return rec && fs.existsSync(path.join(rec.root, 'include')) ? fs.realpathSync(rec.root) : null;
}

module.exports = { findClang, torchRoot };
