#!/usr/bin/env node
'use strict';
// npm install hook. Two situations:
//  - a development clone (tsconfig.json present): choose or install LibTorch (scripts/libtorch.js: pip, the
//    pinned wheel into .deps/), then use the matching prebuild or build from source; failures fail `npm install`.
//  - a user install from a registry: the addon comes from the optional binary package
//    (@l0sparse/<platform>-<arch>-<variant>), LibTorch from `l0sparse setup` (dist/lib/setup), into the
//    per-user cache. No compiler runs, and this hook never fails the install: whatever is missing, it prints
//    the command that fixes it, and the loader repeats that message on first use. Everything done here is
//    also reachable without install scripts (npm 12's allowScripts default): `npx l0sparse setup`, or first use.
//
// User-install switches: L0SPARSE_SKIP_INSTALL=1 (do nothing now; set up later), L0SPARSE_VARIANT=cpu|cuda
// (or `npm config set l0sparse_variant cuda`), L0SPARSE_BUILD_FROM_SOURCE=1 (build instead of the binary),
// and the LibTorch source variables documented in README.md (L0SPARSE_LIBTORCH_MIRROR, ..._ARCHIVE, ...).
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function say(msg) {
  process.stderr.write(`[l0sparse:install] ${msg}\n`);
}

function developmentInstall() {
  const libtorch = require('./libtorch');
  const fail = (msg) => {
    process.stderr.write(`\n[l0sparse:install] ${msg}\n\n`);
    process.exit(1);
  };
  let choice;
  try {
    choice = libtorch.record(libtorch.resolve({}));
  } catch (e) {
    fail(`could not find or install LibTorch: ${e.message}\n` +
      `Install the pinned CPU build with \`python3 -m pip install torch==${libtorch.PINNED.cpu} --index-url https://download.pytorch.org/whl/cpu\` ` +
      '(plain PyPI serves the CUDA build under that name), or point L0SPARSE_LIBTORCH at an unpacked LibTorch, then run `npm install` again.');
  }
  say(`LibTorch ${choice.version} (${choice.variant}, ${choice.source}) at ${choice.root}`);
  const prebuild = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, `l0sparse.napi.${choice.tag}.node`);
  if (fs.existsSync(prebuild) && !process.env.L0SPARSE_BUILD_FROM_SOURCE) {
    say(`using prebuild ${path.relative(ROOT, prebuild)}`);
    process.exit(0);
  }
  try {
    require('./build-native').build({});
  } catch (e) {
    fail(`no prebuild matches LibTorch ${choice.tag} and building from source failed: ${e.message}\n` +
      'Building needs cmake >= 3.25 and a C++20 compiler (Debian: `apt-get install cmake g++`).');
  }
}

async function userInstall() {
  if (process.env.L0SPARSE_SKIP_INSTALL === '1') {
    say('L0SPARSE_SKIP_INSTALL=1: nothing set up now; run `npx l0sparse setup` later (first use does it too)');
    return;
  }
  const setup = require('../dist/lib/setup');
  const variant = setup.requestedVariant();
  const fromSource = process.env.L0SPARSE_BUILD_FROM_SOURCE === '1';
  if (!setup.findBinaryPackage(variant) && !fromSource) {
    // Nothing could use a LibTorch download here: say what builds the addon instead.
    say(setup.missingBinaryMessage(variant).replace(/^l0sparse: /, ''));
    return;
  }
  const result = await setup.runSetup({ variant, log: say });
  if (result.binary) {
    say(`ready: ${result.binary.name} with LibTorch ${result.libtorch.version} (${result.tag}) in ${result.seconds.toFixed(1)} s`);
    return;
  }
  if (fromSource) {
    say('L0SPARSE_BUILD_FROM_SOURCE=1: building the addon against the LibTorch just set up (needs cmake and a C++20 compiler)');
    require('./build-native').build({ variant });
    return;
  }
  say(setup.missingBinaryMessage(variant).replace(/^l0sparse: /, ''));
}

if (fs.existsSync(path.join(ROOT, 'tsconfig.json'))) {
  developmentInstall();
} else {
  userInstall().catch((e) => {
    say(`could not finish the set-up (the install itself succeeded): ${e.message}`);
    say('run `npx l0sparse setup` once this is fixed; L0SPARSE_SKIP_INSTALL=1 skips this step');
  });
}
