#!/usr/bin/env node
'use strict';
// End-to-end test of the distribution, as a user meets it (issue 15): pack the release (scripts/release/pack.js),
// publish it to a local npm registry (verdaccio, tools/registry), serve a LibTorch archive from a local HTTP
// host (libtorch-host.js), then in empty folders with a fresh HOME and npm cache and a PATH whose compilers
// (and Python) are trip-wires: `npm install l0sparse`, `npx l0sparse demo --steps 5`, `encodeDocuments` from a
// user script; plus a second install reusing the cache, a wrong checksum, a 404, a cut connection, the skip
// switch, install scripts disabled (first-use set-up), `npx l0sparse setup`, and a platform mismatch.
// Prints one line per check and a summary with sizes and times; exits 1 when a check fails.
//   node scripts/e2e/run.js [--keep]      (needs a built addon: npm install / npm run build:native;
//                                         L0SPARSE_E2E_ADDON=<file> packs another built CPU addon instead)
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const { buildLibTorchZip } = require('./libtorch-zip');
const { startLibTorchHost } = require('./libtorch-host');
const { makeMiniBeir } = require('./mini-beir');

const ROOT = path.resolve(__dirname, '..', '..');
const KEEP = process.argv.includes('--keep');
const checks = [];
const t0 = Date.now();

function log(msg) { process.stdout.write(`[e2e] ${msg}\n`); }
function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail });
  log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return !!ok;
}

/** Runs a command (asynchronously: the LibTorch host lives in this process) and collects its output. */
function run(cmd, args, { cwd, env, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function duBytes(p) {
  const r = spawnSync('du', ['-sb', p], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split('\t')[0]) : 0;
}
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

async function startRegistry(work) {
  const bin = path.join(ROOT, 'tools', 'registry', 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  if (!fs.existsSync(bin)) {
    log('installing verdaccio (npm ci --prefix tools/registry)');
    const r = spawnSync('npm', ['ci', '--prefix', path.join(ROOT, 'tools', 'registry'), '--no-audit', '--no-fund'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci --prefix tools/registry failed');
  }
  const port = await freePort();
  const dir = path.join(work, 'registry');
  fs.mkdirSync(dir, { recursive: true });
  const upstream = process.env.L0SPARSE_E2E_UPSTREAM || 'https://registry.npmjs.org/';
  fs.writeFileSync(path.join(dir, 'config.yaml'), [
    `storage: ${path.join(dir, 'storage')}`,
    'auth:', '  htpasswd:', `    file: ${path.join(dir, 'htpasswd')}`, '    max_users: 10',
    'uplinks:', '  npmjs:', `    url: ${upstream}`, '    timeout: 60s',
    'packages:',
    "  'l0sparse':", '    access: $all', '    publish: $authenticated',
    "  '@l0sparse/*':", '    access: $all', '    publish: $authenticated',
    "  '**':", '    access: $all', '    proxy: npmjs',
    'log: { type: stdout, format: pretty, level: error }', '',
  ].join('\n'));
  const child = spawn(process.execPath, [bin, '--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', fs.openSync(path.join(dir, 'log'), 'w'), fs.openSync(path.join(dir, 'log'), 'a')] });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 120; i++) {
    try {
      const r = await fetch(`${url}-/ping`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  const res = await fetch(`${url}-/user/org.couchdb.user:e2e`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'e2e', password: `e2e-${process.pid}-pw` }),
  });
  const { token } = await res.json();
  if (!token) throw new Error(`verdaccio at ${url} gave no token (see ${dir}/log)`);
  return { url, token, child, dir };
}

/** A PATH with node and npm only; compilers and Python are shims that record that they were called. */
function userPath(work) {
  const bin = path.join(work, 'bin');
  const trips = path.join(work, 'compiler-calls.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));  // npm runs scripts through sh
  const npmCli = fs.realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
  fs.symlinkSync(npmCli, path.join(bin, 'npm'));
  fs.symlinkSync(path.join(path.dirname(npmCli), 'npx-cli.js'), path.join(bin, 'npx'));
  for (const tool of ['cmake', 'gcc', 'g++', 'cc', 'c++', 'clang', 'clang++', 'make', 'ninja', 'nvcc', 'ccache', 'python', 'python3', 'pip', 'pip3']) {
    fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${trips}'\nexit 127\n`, { mode: 0o755 });
  }
  return { bin, trips };
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-e2e-'));
  const summary = {};
  let registry; let host;
  try {
    log(`work folder ${work}`);
    let t = Date.now();
    const reuse = process.env.L0SPARSE_E2E_ADDON ? ['--addon', process.env.L0SPARSE_E2E_ADDON] : ['--reuse-build'];
    const pack = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'release', 'pack.js'), ...reuse, '--out', path.join(work, 'packages'), '--skip-tsc'], { stdio: 'inherit' });
    if (!check('release packed (l0sparse + @l0sparse/linux-x64-cpu)', pack.status === 0)) return;
    const packed = JSON.parse(fs.readFileSync(path.join(work, 'packages', 'manifest.json'), 'utf8'));
    summary.packSeconds = (Date.now() - t) / 1000;
    summary.packages = packed.map((p) => ({ name: p.name, packedMB: +(p.packedBytes / 1e6).toFixed(2), unpackedMB: +(p.unpackedBytes / 1e6).toFixed(2) }));

    t = Date.now();
    const zip = buildLibTorchZip();
    summary.libtorchArchiveMB = +(zip.bytes / 1e6).toFixed(1);
    summary.libtorchUnpackedMB = +(zip.unpackedBytes / 1e6).toFixed(1);
    const archives = JSON.parse(fs.readFileSync(path.join(ROOT, 'assets', 'libtorch-archives.json'), 'utf8'));
    const entry = archives.variants.cpu;
    host = await startLibTorchHost({ file: zip.file, urlPath: `/${entry.path}/${entry.file}` });
    log(`LibTorch host ${host.base} serving ${path.basename(zip.file)} (${mb(zip.bytes)}, sha256 ${zip.sha256.slice(0, 12)}…) in ${((Date.now() - t) / 1000).toFixed(0)} s`);

    registry = await startRegistry(work);
    const npmrc = path.join(work, 'publish.npmrc');
    const hostPort = registry.url.replace(/^http:/, '');
    fs.writeFileSync(npmrc, `registry=${registry.url}\n${hostPort}:_authToken=${registry.token}\n`);
    // Binary packages first: the main package's optionalDependencies name them at its exact version.
    for (const p of [...packed.slice(1), packed[0]]) {
      const r = await run('npm', ['publish', p.file, '--userconfig', npmrc, '--registry', registry.url, '--ignore-scripts'], { cwd: work });
      check(`published ${p.name}@${p.version}`, r.code === 0, r.code === 0 ? '' : r.out.slice(-500));
    }

    const { bin, trips } = userPath(work);
    const npmCache = path.join(work, 'npm-cache');
    const data = makeMiniBeir(path.join(work, 'mini-scifact'), { queries: 40, extraDocs: 300 });
    const userEnv = (home, extra = {}) => ({
      HOME: home, PATH: bin, TMPDIR: os.tmpdir(), LANG: 'C.UTF-8',
      npm_config_registry: registry.url, npm_config_cache: npmCache, npm_config_userconfig: path.join(home, '.npmrc'),
      npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false',
      L0SPARSE_LIBTORCH_MIRROR: `${host.base}/libtorch`, L0SPARSE_LIBTORCH_SHA256: zip.sha256, ...extra,
    });
    const project = (name) => {
      const dir = path.join(work, 'projects', name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `e2e-${name}`, version: '1.0.0', private: true }) + '\n');
      return dir;
    };
    const home = (name) => { const h = path.join(work, 'homes', name); fs.mkdirSync(h, { recursive: true }); return h; };
    const cacheOf = (h) => path.join(h, '.cache', 'l0sparse', 'libtorch', entry.tag, 'libtorch');
    const install = (dir, env, extra = []) => run('npm', ['install', 'l0sparse', '--foreground-scripts', ...extra], { cwd: dir, env });
    const npx = (dir, env, args) => run('npx', ['--no-install', 'l0sparse', ...args], { cwd: dir, env });
    const tripped = () => (fs.existsSync(trips) ? fs.readFileSync(trips, 'utf8').trim() : '');

    // 1. The happy path: a fresh machine, the default variant, install scripts on.
    const homeA = home('a');
    const a = project('a');
    let since = host.requests.length;
    const inst = await install(a, userEnv(homeA));
    summary.installSeconds = inst.seconds;
    check('npm install l0sparse from the local registry succeeds', inst.code === 0, `${inst.seconds.toFixed(1)} s${inst.code === 0 ? '' : `\n${inst.out.slice(-2000)}`}`);
    check('no compiler or Python ran during the install', tripped() === '', tripped());
    check('the binary package arrived as an optional dependency', fs.existsSync(path.join(a, 'node_modules', '@l0sparse', 'linux-x64-cpu', 'l0sparse.node')));
    check('LibTorch was downloaded once, SHA-256 checked, into ~/.cache/l0sparse', host.downloads(since) === 1 && fs.existsSync(path.join(cacheOf(homeA), 'lib', 'libtorch.so')),
      `${host.downloads(since)} download(s)`);
    summary.installedPackageMB = +((duBytes(path.join(a, 'node_modules', 'l0sparse')) + duBytes(path.join(a, 'node_modules', '@l0sparse'))) / 1e6).toFixed(1);
    summary.nodeModulesMB = +(duBytes(path.join(a, 'node_modules')) / 1e6).toFixed(1);
    summary.libtorchCacheMB = +(duBytes(cacheOf(homeA)) / 1e6).toFixed(1);
    const info = await npx(a, userEnv(homeA), ['info', '--json']);
    let infoJson = null;
    try { infoJson = JSON.parse(info.out.slice(info.out.indexOf('{'))); } catch { /* reported below */ }
    check('npx l0sparse info: the binary package with the cached LibTorch', info.code === 0 && infoJson && infoJson.origin.from === 'binary package' &&
      infoJson.origin.libtorch === cacheOf(homeA) && infoJson.addon.torchVersion.startsWith(entry.torch), info.code === 0 ? `torch ${infoJson && infoJson.addon.torchVersion}` : info.out.slice(-1500));
    const demoOut = path.join(a, 'demo-out');
    const demo = await npx(a, userEnv(homeA), ['demo', '--steps', '5', '--pretrain-steps', '5', '--data', data.dir, '--out', demoOut, '--no-progress', '--curve-corpus', '200']);
    summary.firstRunSeconds = demo.seconds;
    check('npx l0sparse demo --steps 5 --pretrain-steps 5 runs end to end', demo.code === 0 && fs.existsSync(path.join(demoOut, 'demo.json')), `${demo.seconds.toFixed(1)} s${demo.code === 0 ? '' : `\n${demo.out.slice(-2000)}`}`);
    fs.writeFileSync(path.join(a, 'encode.js'), [
      "const { SparseEncoder } = require('l0sparse');",
      "const demo = require(process.argv[2]);",
      '(async () => {',
      '  const encoder = await SparseEncoder.load(demo.files.model);',
      "  const csr = await encoder.encodeDocuments(['Aspirin lowers the risk of heart attacks.', 'Vitamin D supplements and bone density in older adults.']);",
      '  console.log(JSON.stringify({ rows: csr.indptr.length - 1, nnz: csr.indices.length, cols: csr.numCols, finite: [...csr.values].every(Number.isFinite) }));',
      '})().catch((e) => { console.error(e); process.exit(1); });', '',
    ].join('\n'));
    const enc = await run('node', ['encode.js', path.join(demoOut, 'demo.json')], { cwd: a, env: userEnv(homeA) });
    let encJson = null;
    try { encJson = JSON.parse(enc.out.trim().split('\n').pop()); } catch { /* reported below */ }
    check('a user script calls encodeDocuments on the trained model', enc.code === 0 && encJson && encJson.rows === 2 && encJson.nnz > 0 && encJson.finite,
      enc.code === 0 ? JSON.stringify(encJson) : enc.out.slice(-1500));
    check('still no compiler or Python ran', tripped() === '', tripped());

    // 2. A second project on the same machine: the LibTorch cache is reused, nothing is downloaded.
    since = host.requests.length;
    const b = project('b');
    const instB = await install(b, userEnv(homeA), ['--prefer-offline']);
    const infoB = await npx(b, userEnv(homeA), ['info']);
    check('a second install reuses the cached LibTorch without downloading', instB.code === 0 && host.downloads(since) === 0 && infoB.code === 0 && /already set up/.test(instB.out),
      `${host.downloads(since)} download(s), install ${instB.seconds.toFixed(1)} s`);
    summary.secondInstallSeconds = instB.seconds;

    // 3. Failures never fail `npm install`; each says what fixes it, and the loader repeats it. The install
    //    path is shown with a wrong checksum; the download failures through `l0sparse setup` in a project
    //    that is already installed (the same code the install script runs; an install each would cost ~30 s).
    {
      const h = home('bad-sha');
      const p = project('bad-sha');
      const bad = { L0SPARSE_LIBTORCH_SHA256: 'f'.repeat(64) };
      const r = await install(p, userEnv(h, bad), ['--prefer-offline']);
      check('a wrong checksum: npm install still succeeds and names the fix', r.code === 0 && /SHA-256 [0-9a-f]{64} but f{64} was expected/.test(r.out) &&
        /npx l0sparse setup/.test(r.out) && !fs.existsSync(cacheOf(h)), r.code === 0 ? '' : r.out.slice(-1500));
      const rInfo = await npx(p, userEnv(h, { ...bad, L0SPARSE_AUTO_SETUP: '0' }), ['info']);
      check('the loader then explains what to run', rInfo.code !== 0 && /npx l0sparse setup/.test(rInfo.out) && !/Segmentation|Aborted/.test(rInfo.out),
        rInfo.out.trim().split('\n').slice(-3).join(' | '));
      const failures = [
        ['a 404 from the mirror', `${host.base}/missing`, /HTTP 404[\s\S]*L0SPARSE_LIBTORCH_MIRROR/],
        ['a connection cut on every try', `${host.base}/cut`, /(cut after \d+ of \d+ bytes|closed by the server after \d+ bytes)[\s\S]*gave up after 5 tries/],
      ];
      for (const [what, mirror, expected] of failures) {
        const s = await npx(p, userEnv(h, { L0SPARSE_LIBTORCH_MIRROR: mirror }), ['setup']);
        check(`${what}: setup fails with a message naming the fix, caches nothing`, s.code !== 0 && expected.test(s.out) && /npx l0sparse setup --archive/.test(s.out) &&
          !fs.existsSync(cacheOf(h)), s.out.trim().split('\n').slice(-2).join(' | '));
      }
      since = host.requests.length;
      const s = await npx(p, userEnv(h, { L0SPARSE_LIBTORCH_MIRROR: `${host.base}/cut-once` }), ['setup']);
      check('a connection cut mid-download is retried and the set-up completes', s.code === 0 && /retrying in/.test(s.out) && host.downloads(since) === 2 &&
        fs.existsSync(path.join(cacheOf(h), 'lib', 'libtorch.so')), `${host.downloads(since)} requests`);
      fs.rmSync(h, { recursive: true, force: true });
    }

    // 4. The skip switch, then an explicit `npx l0sparse setup`.
    {
      const h = home('skip');
      const p = project('skip');
      since = host.requests.length;
      const r = await install(p, userEnv(h, { L0SPARSE_SKIP_INSTALL: '1' }), ['--prefer-offline']);
      check('L0SPARSE_SKIP_INSTALL=1: the install sets nothing up', r.code === 0 && host.downloads(since) === 0 && !fs.existsSync(cacheOf(h)));
      const s = await npx(p, userEnv(h), ['setup']);
      const i = await npx(p, userEnv(h, { L0SPARSE_AUTO_SETUP: '0' }), ['info']);
      check('then `npx l0sparse setup` fetches LibTorch and the addon loads', s.code === 0 && host.downloads(since) === 1 && i.code === 0, s.code === 0 ? '' : s.out.slice(-1500));
      fs.rmSync(h, { recursive: true, force: true });
    }

    // 5. Install scripts not run (npm 12's default for dependencies): the first use sets LibTorch up.
    {
      const h = home('no-scripts');
      const p = project('no-scripts');
      since = host.requests.length;
      const r = await install(p, userEnv(h), ['--ignore-scripts', '--prefer-offline']);
      const before = host.downloads(since);
      const i = await npx(p, userEnv(h), ['info']);
      check('--ignore-scripts: the binary still arrives, and first use fetches LibTorch with a notice', r.code === 0 && before === 0 &&
        fs.existsSync(path.join(p, 'node_modules', '@l0sparse', 'linux-x64-cpu', 'l0sparse.node')) && i.code === 0 && host.downloads(since) === 1 && /is not set up yet; fetching it once/.test(i.out),
        i.code === 0 ? '' : i.out.slice(-1500));
      fs.rmSync(h, { recursive: true, force: true });
    }

    // 6. A platform without a binary package (forced: npm installs for arm64).
    {
      const h = home('arm64');
      const p = project('arm64');
      const r = await install(p, userEnv(h), ['--cpu=arm64', '--prefer-offline']);
      const i = await npx(p, userEnv(h, { L0SPARSE_AUTO_SETUP: '0' }), ['info']);
      check('a platform mismatch: no binary package, install succeeds, the loader names the fix', r.code === 0 &&
        !fs.existsSync(path.join(p, 'node_modules', '@l0sparse', 'linux-x64-cpu')) && i.code !== 0 && /L0SPARSE_BUILD_FROM_SOURCE=1 npm rebuild l0sparse/.test(i.out) &&
        /not installed|no prebuilt binary/.test(i.out), i.out.trim().split('\n').slice(-2).join(' | '));
      check('and no compiler ran in any of it', tripped() === '', tripped());
      fs.rmSync(h, { recursive: true, force: true });
    }
  } finally {
    if (registry) registry.child.kill();
    if (host) await host.close();
    if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
    const failed = checks.filter((c) => !c.ok);
    summary.checks = checks.length;
    summary.failed = failed.length;
    summary.totalSeconds = (Date.now() - t0) / 1000;
    log(`summary ${JSON.stringify(summary)}`);
    log(`${checks.length - failed.length} of ${checks.length} checks passed in ${summary.totalSeconds.toFixed(0)} s`);
    fs.mkdirSync(path.join(ROOT, '.cache', 'e2e'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, '.cache', 'e2e', 'summary.json'), JSON.stringify({ summary, checks }, null, 2) + '\n');
    process.exitCode = failed.length || checks.length === 0 ? 1 : 0;
  }
}

main().catch((e) => { log(`error: ${e.stack || e.message}`); process.exitCode = 1; });
