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

/** The names asked for in a comma-separated `list` (default: every key of `table`); an unknown one throws. */
function pickNames(list, table, kind) {
  const names = (list ?? Object.keys(table).join(',')).split(',');
  for (const n of names) if (!table[n]) throw new Error(`unknown ${kind} ${n} (have ${Object.keys(table).join(', ')})`);
  return names;
}

/**
 * Whether `clang` builds the one-file program `source` with `flags`, then `libs` after the source (probes for
 * runtimes and libraries).
 */
function canBuild(clang, outDir, source, flags, libs = []) {
  fs.mkdirSync(outDir, { recursive: true });
  const probe = path.join(outDir, 'probe.cc');
  fs.writeFileSync(probe, source);
  return spawnSync(clang, [...flags, probe, ...libs, '-o', path.join(outDir, 'probe')], { stdio: 'ignore' }).status === 0;
}

/**
 * The torch-free sources of native/index and native/common (every .cc there that includes no ATen/torch
 * header: all but the pruning), which the index sanitizer suites and the index fuzz target link. Listed
 * from the folders, so a new source file is never left out of either.
 */
function torchFreeIndexSources(root) {
  return ['common', 'index'].flatMap((folder) => {
    const dir = path.join(root, 'native', folder);
    return fs.readdirSync(dir).filter((f) => f.endsWith('.cc')).sort()
      .filter((f) => !/#include\s*[<"](ATen|torch|c10)\//.test(fs.readFileSync(path.join(dir, f), 'utf8')))
      .map((f) => `native/${folder}/${f}`);
  });
}

module.exports = { findClang, torchRoot, pickNames, canBuild, torchFreeIndexSources };
