#!/usr/bin/env node
'use strict';
// Builds and packs a release: the binary package of each variant (@l0sparse/linux-x64-cpu, with --cuda also
// @l0sparse/linux-x64-cuda13), each holding one stripped l0sparse.node built against the pinned LibTorch of
// assets/libtorch-archives.json, and the main package l0sparse (JS, types, sources for a from-source build),
// which lists the packed binary packages as optionalDependencies at its exact version. Output: npm pack
// tarballs in dist-packages/ (git-ignored) plus dist-packages/manifest.json (names, files, sizes).
//
//   node scripts/release/pack.js [--cuda] [--no-cpu] [--out DIR] [--reuse-build | --addon FILE] [--skip-tsc]
// --reuse-build packs the clone's own build/Release/l0sparse.node (CPU; its sidecar must name the pinned tag)
// instead of a release build (--addon FILE: another built CPU addon with its sidecar .json): the e2e test
// uses it to keep CI cheap. Its RUNPATH points into the clone's
// .deps, which does not exist in a user install, so it loads exactly like a release build: through the
// loader's preload of the cached LibTorch.
// The build LibTorch: L0SPARSE_BUILD_LIBTORCH (e.g. the unpacked official archive), else the pinned torch of
// scripts/libtorch.js (the pip wheel of the same version and variant; same C++ ABI and sonames as the archive).
// The CUDA package needs nvcc and the CUDA LibTorch (~4.5 GB); it is compiled, not run, without a GPU.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const libtorch = require('../libtorch');
const { build } = require('../build-native');

const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const OUT = path.resolve(ROOT, opt('--out') || 'dist-packages');
const variants = [...(argv.includes('--no-cpu') ? [] : ['cpu']), ...(argv.includes('--cuda') ? ['cuda'] : [])];

function log(msg) { process.stderr.write(`[l0sparse:pack] ${msg}\n`); }

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}) in ${cwd}`);
  return r.stdout;
}

/** `npm pack` of a staged folder into OUT; returns the tarball's path and packed size. */
function npmPack(dir) {
  const out = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', OUT], dir))[0];
  const file = path.join(OUT, out.filename);
  return { name: out.name, version: out.version, file, packedBytes: fs.statSync(file).size, unpackedBytes: out.unpackedSize, files: out.entryCount };
}

function buildBinaryPackage(pkg, variant, entry) {
  const explicit = process.env.L0SPARSE_BUILD_LIBTORCH;
  const choice = explicit ? libtorch.describeRoot(libtorch.torchRootOf(explicit)) : libtorch.resolve({ variant });
  if (choice.tag !== entry.tag) {
    throw new Error(`the build LibTorch ${choice.version} at ${choice.root} is ${choice.tag}, but assets/libtorch-archives.json pins ${entry.tag} for ${variant}`);
  }
  const stage = path.join(OUT, 'stage', entry.package.replace('/', '__'));
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  if ((argv.includes('--reuse-build') || opt('--addon')) && variant === 'cpu') {
    const built = path.resolve(opt('--addon') || path.join(ROOT, 'build', 'Release', 'l0sparse.node'));
    const sidecar = JSON.parse(fs.readFileSync(built.replace(/\.node$/, '.json'), 'utf8'));
    if (sidecar.tag !== entry.tag) throw new Error(`${built} is built for ${sidecar.tag}, not ${entry.tag}; run \`npm run build:native\``);
    fs.copyFileSync(built, path.join(stage, 'l0sparse.node'));
  } else {
    process.env.L0SPARSE_BUILD_LIBTORCH = choice.root;
    try {
      build({ variant, buildDir: `build-cmake-release-${variant}`, copyTo: stage, runpath: '$ORIGIN' });
    } finally {
      if (explicit) process.env.L0SPARSE_BUILD_LIBTORCH = explicit; else delete process.env.L0SPARSE_BUILD_LIBTORCH;
    }
    fs.rmSync(path.join(stage, 'l0sparse.json'), { force: true });
  }
  run('strip', ['--strip-unneeded', path.join(stage, 'l0sparse.node')], stage);
  const meta = { tag: entry.tag, variant, torch: entry.torch, archive: entry.file, builtAgainst: choice.version };
  fs.writeFileSync(path.join(stage, 'l0sparse.json'), JSON.stringify(meta, null, 2) + '\n');
  fs.writeFileSync(path.join(stage, 'README.md'), `# ${entry.package}\n\nThe prebuilt native addon of [l0sparse](https://www.npmjs.com/package/l0sparse) ` +
    `for Linux x86_64 (glibc), built against LibTorch ${entry.torch} (${variant}). Installed by l0sparse as an optional dependency; ` +
    'its LibTorch is set up by `npx l0sparse setup` (or on first use). Not meant to be used directly.\n');
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify({
    name: entry.package, version: pkg.version, description: `l0sparse native addon, linux-x64, LibTorch ${entry.torch} ${variant}`,
    license: pkg.license, os: ['linux'], cpu: ['x64'], libc: ['glibc'], files: ['l0sparse.node', 'l0sparse.json'],
  }, null, 2) + '\n');
  return npmPack(stage);
}

/** The main package, staged with the files a user install needs and the packed binaries as optional deps. */
function packMainPackage(pkg, binaries) {
  const stage = path.join(OUT, 'stage', 'l0sparse');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'scripts'), { recursive: true });
  for (const item of ['dist/lib', 'assets', 'native', 'CMakeLists.txt', 'binding.gyp', 'README.md']) {
    fs.cpSync(path.join(ROOT, item), path.join(stage, item), { recursive: true });
  }
  // Only what an install and a from-source build run; the clone's test, bench and release tooling stays out.
  for (const script of ['install.js', 'libtorch.js', 'build-native.js']) {
    fs.copyFileSync(path.join(ROOT, 'scripts', script), path.join(stage, 'scripts', script));
  }
  const manifest = {
    ...pkg,
    files: ['dist/lib', 'assets', 'native', 'scripts', 'CMakeLists.txt', 'binding.gyp'],
    scripts: { install: pkg.scripts.install },
    optionalDependencies: Object.fromEntries(binaries.map((b) => [b.name, b.version])),
  };
  delete manifest.devDependencies;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  return npmPack(stage);
}

function main() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const archives = JSON.parse(fs.readFileSync(path.join(ROOT, 'assets', 'libtorch-archives.json'), 'utf8'));
  fs.mkdirSync(OUT, { recursive: true });
  if (argv.includes('--skip-tsc')) {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'lib', 'index.js'))) throw new Error('--skip-tsc but dist/lib is not compiled (npm run build:ts)');
  } else {
    log('compiling TypeScript');
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], ROOT);
  }
  const packed = [];
  for (const variant of variants) {
    const t0 = Date.now();
    packed.push(buildBinaryPackage(pkg, variant, archives.variants[variant]));
    log(`${packed[packed.length - 1].name}: built and packed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const main = packMainPackage(pkg, packed);
  fs.rmSync(path.join(OUT, 'stage'), { recursive: true, force: true });
  const all = [main, ...packed];
  fs.writeFileSync(path.join(OUT, 'manifest.json'), JSON.stringify(all, null, 2) + '\n');
  for (const p of all) log(`${path.relative(ROOT, p.file)}: ${(p.packedBytes / 1e6).toFixed(2)} MB packed, ${(p.unpackedBytes / 1e6).toFixed(2)} MB unpacked, ${p.files} files`);
  return all;
}

module.exports = { main };

if (require.main === module) {
  try {
    main();
  } catch (e) {
    log(`error: ${e.message}`);
    process.exit(1);
  }
}
