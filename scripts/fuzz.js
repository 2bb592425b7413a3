#!/usr/bin/env node
'use strict';
// Builds and runs the libFuzzer targets in fuzz/ (clang with -fsanitize=fuzzer,address,undefined):
//   index_file   native/index loader + search over what it accepts (torch-free)
//   json         native/model/json.cc (links libc10 only)
//   safetensors  native/model/safetensors.cc (links libc10 + libtorch_cpu from .deps/libtorch.json)
//
//   node scripts/fuzz.js [--seconds 60] [--targets index_file,json] [--build-only] [--seeds-only]
// --seconds N   fuzzing time per target (default 60); the committed seeds fuzz/corpus/<target>/ are read,
//               new inputs go to build-fuzz/corpus/<target>/ (never into the repository).
// --seeds-only  run every target once over its seeds (a regression check, a few seconds).
// Env: L0SPARSE_FUZZ_DIR (build folder, default build-fuzz), CLANGXX (compiler).
// Without clang++ or its libFuzzer runtime the script prints why and exits 0 (an optional tool); a crash,
// a sanitizer report or a timeout in a target exits 1 and keeps the input under build-fuzz/artifacts/.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { canBuild, findClang, pickNames, torchRoot, torchFreeIndexSources } = require('./clang-tools');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.resolve(ROOT, process.env.L0SPARSE_FUZZ_DIR || 'build-fuzz');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const log = (m) => process.stderr.write(`[l0sparse:fuzz] ${m}\n`);

const INDEX_SOURCES = torchFreeIndexSources(path.resolve(__dirname, '..'));

const TARGETS = {
  index_file: { main: 'fuzz/index_file_fuzz.cc', sources: INDEX_SOURCES, torch: null },
  json: { main: 'fuzz/json_fuzz.cc', sources: ['native/model/json.cc'], torch: ['c10'] },
  safetensors: { main: 'fuzz/safetensors_fuzz.cc', sources: ['native/model/safetensors.cc', 'native/model/json.cc',
    'native/model/files.cc', 'native/common/file_io.cc'], torch: ['c10', 'torch_cpu'] },
};

const SAN = ['-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];

function newest(files) {
  let t = 0;
  for (const f of files) t = Math.max(t, fs.statSync(path.join(ROOT, f)).mtimeMs);
  return t;
}

function headersOf(target) {
  const dirs = ['fuzz', 'native/index', 'native/model'];
  return dirs.flatMap((d) => fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.h')).map((f) => `${d}/${f}`))
    .concat(target.sources, [target.main, 'scripts/fuzz.js']);
}

function build(clang, name, target, torch) {
  const bin = path.join(OUT, `${name}_fuzz`);
  if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs > newest(headersOf(target))) return bin;
  const args = ['-std=c++20', '-O1', '-g', ...SAN, '-I', ROOT, '-I', path.join(ROOT, 'native'),
    ...target.sources.map((s) => path.join(ROOT, s)), path.join(ROOT, target.main), '-o', bin];
  if (target.torch) {
    args.push('-isystem', path.join(torch, 'include'), '-isystem', path.join(torch, 'include', 'torch', 'csrc', 'api', 'include'),
      '-D_GLIBCXX_USE_CXX11_ABI=1', '-L', path.join(torch, 'lib'), ...target.torch.map((l) => `-l${l}`),
      `-Wl,-rpath,${path.join(torch, 'lib')}`);
  }
  const t0 = Date.now();
  const r = spawnSync(clang, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building ${name} failed (exit ${r.status})`);
  log(`built ${path.relative(ROOT, bin)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return bin;
}

function run(name, bin, seconds, seedsOnly) {
  const seeds = path.join(ROOT, 'fuzz', 'corpus', name);
  const work = path.join(OUT, 'corpus', name);
  const artifacts = path.join(OUT, 'artifacts');
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(artifacts, { recursive: true });
  const common = ['-timeout=20', '-rss_limit_mb=3072', '-malloc_limit_mb=2048', `-artifact_prefix=${artifacts}/${name}-`,
    '-print_final_stats=1'];
  const args = seedsOnly
    ? [...common, '-runs=0', seeds]  // every seed once, no mutation
    : [...common, `-max_total_time=${seconds}`, '-max_len=65536', work, seeds];
  const t0 = Date.now();
  const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:allocator_may_return_null=1', UBSAN_OPTIONS: 'print_stacktrace=1' };
  const r = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 256 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  const execs = (out.match(/stat::number_of_executed_units:\s*(\d+)/) || [])[1];
  const cov = (out.match(/cov: (\d+)/g) || []).pop();
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    process.stderr.write(out.split('\n').slice(-60).join('\n') + '\n');
    log(`${name}: FAILED (exit ${r.status}) after ${secs} s; inputs kept under ${path.relative(ROOT, artifacts)}`);
    return false;
  }
  log(`${name}: ok, ${execs ?? '?'} executions in ${secs} s${cov ? ` (${cov})` : ''}`);
  return true;
}

function main() {
  const seconds = Number(arg('--seconds', '60'));
  if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
  const names = pickNames(arg('--targets'), TARGETS, 'target');
  const clang = findClang();
  if (!clang) { log('skipped: no clang++ (apt-get install clang-14 libclang-rt-14-dev)'); return 0; }
  // libFuzzer's runtime comes with compiler-rt (Debian: libclang-rt-N-dev); probe it with a one-line target.
  if (!canBuild(clang, OUT, 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n', SAN)) {
    log(`skipped: ${clang} cannot link -fsanitize=fuzzer,address,undefined (install libclang-rt-14-dev)`);
    return 0;
  }
  const torch = torchRoot();
  let ok = true;
  for (const name of names) {
    const target = TARGETS[name];
    if (target.torch && !torch) { log(`${name}: skipped, no LibTorch recorded in .deps/libtorch.json (run npm install)`); continue; }
    const bin = build(clang, name, target, torch);
    if (process.argv.includes('--build-only')) continue;
    ok = run(name, bin, seconds, process.argv.includes('--seeds-only')) && ok;
  }
  return ok ? 0 : 1;
}

try {
  process.exit(main());
} catch (e) {
  log(`error: ${e.message}`);
  process.exit(1);
}
