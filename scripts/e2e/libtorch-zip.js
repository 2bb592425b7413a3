#!/usr/bin/env node
'use strict';
// The LibTorch archive the e2e test's local "download.pytorch.org" serves: built from the pinned CPU LibTorch
// of this clone (.deps/libtorch, the pip wheel of the same version: same sonames and C++ ABI as the official
// zip) in the official layout (libtorch/{lib,share/cmake,build-version}), trimmed to what the addon loads
// (no headers, no Python bindings). Cached in .cache/e2e/ (git-ignored), keyed by the source files' sizes and
// times, since zipping ~440 MB costs tens of seconds.  Prints {file, sha256, bytes, unpackedBytes}.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const LIBS = ['libc10.so', 'libtorch.so', 'libtorch_cpu.so', 'libtorch_global_deps.so', 'libshm.so'];

function sha256(file) {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
  return hash.digest('hex');
}

function buildLibTorchZip({ torchRoot, outDir = path.join(ROOT, '.cache', 'e2e') } = {}) {
  const libtorch = require('../libtorch');
  const root = fs.realpathSync(torchRoot || path.join(ROOT, '.deps', 'libtorch'));
  const d = libtorch.describeRoot(root);
  if (d.variant !== 'cpu') throw new Error(`${root} is a ${d.variant} LibTorch; the e2e archive is the CPU one`);
  const lib = path.join(root, 'lib');
  const libs = [...LIBS, ...fs.readdirSync(lib).filter((f) => /^libgomp.*\.so/.test(f))].filter((f) => fs.existsSync(path.join(lib, f)));
  const key = crypto.createHash('sha256').update(JSON.stringify(libs.map((f) => {
    const s = fs.statSync(path.join(lib, f));
    return [f, s.size, s.mtimeMs];
  }))).digest('hex').slice(0, 12);
  const file = path.join(outDir, `libtorch-shared-with-deps-${d.base}+cpu.${key}.zip`);
  const meta = `${file}.json`;
  if (fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, 'utf8'));
  fs.mkdirSync(outDir, { recursive: true });
  const stage = fs.mkdtempSync(path.join(outDir, 'stage-'));
  try {
    const top = path.join(stage, 'libtorch');
    fs.mkdirSync(path.join(top, 'lib'), { recursive: true });
    for (const f of libs) fs.symlinkSync(path.join(lib, f), path.join(top, 'lib', f));
    fs.cpSync(path.join(root, 'share', 'cmake'), path.join(top, 'share', 'cmake'), { recursive: true });
    fs.writeFileSync(path.join(top, 'build-version'), `${d.base}+cpu\n`);
    // Python's zipfile: deflate (as the official archive), Unix modes kept, symlinks followed.
    const tmp = `${file}.${process.pid}.tmp`;
    const py = 'import os,sys,zipfile\n' +
      'z=zipfile.ZipFile(sys.argv[1],"w",zipfile.ZIP_DEFLATED,compresslevel=1)\n' +
      'for b,ds,fs in os.walk("libtorch",followlinks=True):\n' +
      '  ds.sort()\n' +
      '  for f in sorted(fs): z.write(os.path.join(b,f))\n' +
      'z.close()\n';
    const r = spawnSync(process.env.L0SPARSE_PYTHON || 'python3', ['-c', py, tmp], { cwd: stage, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`zipping ${top} failed (exit ${r.status})`);
    fs.renameSync(tmp, file);
    const unpackedBytes = libs.reduce((s, f) => s + fs.statSync(path.join(lib, f)).size, 0);
    const out = { file, sha256: sha256(file), bytes: fs.statSync(file).size, unpackedBytes, torch: d.version };
    fs.writeFileSync(meta, JSON.stringify(out, null, 2) + '\n');
    return out;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

module.exports = { buildLibTorchZip };

if (require.main === module) process.stdout.write(JSON.stringify(buildLibTorchZip(), null, 2) + '\n');
