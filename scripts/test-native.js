#!/usr/bin/env node
'use strict';
// Builds the addon plus the C++ test binary (GoogleTest) and runs the native tests.
const path = require('path');
const { spawnSync } = require('child_process');
const { build } = require('./build-native');

const sanitize = process.argv.includes('--sanitize');
try {
  const { out } = build({ tests: true, sanitize });
  const bin = path.join(out, 'l0sparse_native_tests');
  const extra = process.argv.slice(2).filter((a) => a !== '--sanitize');
  const r = spawnSync(bin, ['--gtest_brief=1', ...extra], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
} catch (e) {
  process.stderr.write(`[l0sparse:test-native] ${e.message}\n`);
  process.exit(1);
}
