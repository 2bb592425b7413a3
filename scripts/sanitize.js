#!/usr/bin/env node
'use strict';
// ASan + UBSan build and run of the native tests that need no LibTorch-heavy code:
//   index   native/tests/index_{file,search,blocks}_test.cc over native/index (torch-free: the
//           index, its file format, MaxScore/exhaustive search)
//   model   native/tests/safetensors_test.cc + model_config_test.cc over the safetensors reader/writer,
//           JSON and config parsing (links libc10 + libtorch_cpu; the torch libraries themselves are not
//           instrumented)
//   runtime native/tests/caching_cpu_allocator_test.cc over native/runtime (the caching CPU allocator: its
//           own mmap bookkeeping, links libc10 for the default small-block allocator)
//   runtime-tsan  the same under ThreadSanitizer: the allocator is shared by LibTorch's intra-op threads and
//           its tests race 8 threads on it (skipped, with the reason, when clang has no TSan runtime)
// The full test binary with every LibTorch op under ASan is the CMake option L0SPARSE_SANITIZE
// (`node scripts/test-native.js --sanitize`): much slower, not run in CI.
//
//   node scripts/sanitize.js [--suites index,model,runtime,runtime-tsan] [-- <gtest flags, e.g. --gtest_repeat=50>]
// Env: L0SPARSE_SANITIZE_DIR (default build-sanitize), CLANGXX.
// Missing clang++ or GoogleTest: prints why and exits 0. A failing test or a sanitizer report exits 1.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { canBuild, findClang, pickNames, torchRoot, torchFreeIndexSources } = require('./clang-tools');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.resolve(ROOT, process.env.L0SPARSE_SANITIZE_DIR || 'build-sanitize');
const log = (m) => process.stderr.write(`[l0sparse:sanitize] ${m}\n`);

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const SUITES = {
  index: {
    tests: ['native/tests/index_file_test.cc', 'native/tests/index_search_test.cc', 'native/tests/index_blocks_test.cc',
      'native/tests/index_stream_test.cc'],
    sources: torchFreeIndexSources(path.resolve(__dirname, '..')),
    torch: null,
  },
  // The index's own threads: parallel inversion and encoding, and terms checked on first use by
  // concurrent searches (atomic flags).
  'index-tsan': {
    tests: ['native/tests/index_stream_test.cc'],
    sources: torchFreeIndexSources(path.resolve(__dirname, '..')),
    torch: null,
    thread: true,
  },
  model: {
    tests: ['native/tests/safetensors_test.cc', 'native/tests/model_config_test.cc'],
    sources: ['native/model/safetensors.cc', 'native/model/json.cc', 'native/model/files.cc', 'native/model/config.cc',
      'native/common/file_io.cc'],
    torch: ['c10', 'torch_cpu'],
  },
  runtime: {
    tests: ['native/tests/caching_cpu_allocator_test.cc'],
    sources: ['native/runtime/caching_cpu_allocator.cc'],
    torch: ['c10'],
  },
  'runtime-tsan': {
    tests: ['native/tests/caching_cpu_allocator_test.cc'],
    sources: ['native/runtime/caching_cpu_allocator.cc'],
    torch: ['c10'],
    thread: true,
  },
};

const SAN = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];
const TSAN = ['-fsanitize=thread', '-fno-omit-frame-pointer'];
const sanitizerFlags = (suite) => (suite.thread ? TSAN : SAN);
// Whether clang builds and links a GoogleTest program with these sanitizer flags (the runtime may be missing).
const canBuildGtest = (clang, flags) =>
  canBuild(clang, OUT, '#include <gtest/gtest.h>\nTEST(P, P) {}\n', ['-std=c++20', ...flags], ['-lgtest', '-lgtest_main', '-pthread']);

function compile(clang, name, suite, torch) {
  const bin = path.join(OUT, `${name}_tests`);
  const inputs = [...suite.tests, ...suite.sources, 'scripts/sanitize.js'];
  const headers = ['native/index', 'native/model', 'native/runtime', 'native/tests'].flatMap((d) =>
    fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.h')).map((f) => `${d}/${f}`));
  const newest = Math.max(...[...inputs, ...headers].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs));
  if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs > newest) return bin;
  const args = ['-std=c++20', '-O1', '-g', ...sanitizerFlags(suite), '-I', path.join(ROOT, 'native'),
    ...[...suite.tests, ...suite.sources].map((f) => path.join(ROOT, f)), '-lgtest', '-lgtest_main', '-pthread', '-o', bin];
  if (suite.torch) {
    args.push('-isystem', path.join(torch, 'include'), '-isystem', path.join(torch, 'include', 'torch', 'csrc', 'api', 'include'),
      '-D_GLIBCXX_USE_CXX11_ABI=1', '-L', path.join(torch, 'lib'), ...suite.torch.map((l) => `-l${l}`),
      `-Wl,-rpath,${path.join(torch, 'lib')}`);
  }
  const t0 = Date.now();
  const r = spawnSync(clang, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building the ${name} suite failed (exit ${r.status})`);
  log(`built ${path.relative(ROOT, bin)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return bin;
}

// Arguments after `--` go to every suite's test binary (e.g. -- --gtest_repeat=50).
const passThrough = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];

function main() {
  const names = pickNames(arg('--suites'), SUITES, 'suite');
  const clang = findClang();
  if (!clang) { log('skipped: no clang++ (apt-get install clang-14 libclang-rt-14-dev)'); return 0; }
  if (!canBuildGtest(clang, SAN)) {
    log(`skipped: ${clang} cannot build an ASan/UBSan GoogleTest program (apt-get install libgtest-dev libclang-rt-14-dev)`);
    return 0;
  }
  const torch = torchRoot();
  // Probed only when a ThreadSanitizer suite was asked for.
  const tsanWorks = names.some((n) => SUITES[n].thread) && canBuildGtest(clang, TSAN);
  let ok = true;
  for (const name of names) {
    const suite = SUITES[name];
    if (suite.torch && !torch) { log(`${name}: skipped, no LibTorch recorded in .deps/libtorch.json`); continue; }
    if (suite.thread && !tsanWorks) { log(`${name}: skipped, ${clang} cannot build a ThreadSanitizer GoogleTest program`); continue; }
    const bin = compile(clang, name, suite, torch);
    const t0 = Date.now();
    // detect_leaks: LeakSanitizer needs ptrace-like access that some containers deny; it is on when it works.
    const env = { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:strict_string_checks=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1', TSAN_OPTIONS: process.env.TSAN_OPTIONS || 'halt_on_error=1:second_deadlock_stack=1' };
    const r = spawnSync(bin, ['--gtest_brief=1', ...passThrough], { cwd: ROOT, stdio: 'inherit', env });
    log(`${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status}, signal ${r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    ok = ok && r.status === 0;
  }
  return ok ? 0 : 1;
}

try {
  process.exit(main());
} catch (e) {
  log(`error: ${e.message}`);
  process.exit(1);
}
