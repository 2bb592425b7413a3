#!/usr/bin/env node
'use strict';
// Release step before packing: downloads each LibTorch archive of assets/libtorch-archives.json once and writes
// its SHA-256 there, so that every user install can check the archive it downloads. Run it where
// download.pytorch.org (or the mirror given) is reachable; commit the result.
//   node scripts/release/pin-libtorch.js [--variant cpu|cuda] [--mirror BASE_URL]
// (needs dist/: npm run build:ts). It cannot run on a machine without internet (the reason the committed hashes
// may still be null: an install then asks for L0SPARSE_LIBTORCH_SHA256).
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const FILE = path.join(ROOT, 'assets', 'libtorch-archives.json');

async function main() {
  const { downloadFile, archiveUrl } = require(path.join(ROOT, 'dist', 'lib', 'setup'));
  const argv = process.argv.slice(2);
  const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const manifest = JSON.parse(fs.readFileSync(FILE, 'utf8'));
  const variants = opt('--variant') ? [opt('--variant')] : Object.keys(manifest.variants);
  for (const variant of variants) {
    const entry = manifest.variants[variant];
    if (!entry) throw new Error(`no variant ${variant} in ${FILE}`);
    const url = archiveUrl(entry, opt('--mirror') || manifest.baseUrl);
    const dest = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pin-libtorch-')), entry.file);
    process.stderr.write(`[pin-libtorch] ${url}\n`);
    const r = await downloadFile({ url, dest, log: (l) => process.stderr.write(`[pin-libtorch] ${l}\n`) });
    fs.rmSync(path.dirname(dest), { recursive: true, force: true });
    entry.sha256 = r.sha256;
    process.stderr.write(`[pin-libtorch] ${entry.file}: ${(r.bytes / 1e6).toFixed(1)} MB, sha256 ${r.sha256}\n`);
  }
  const tmp = `${FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
  fs.renameSync(tmp, FILE);
}

main().catch((e) => { process.stderr.write(`[pin-libtorch] error: ${e.message}\n`); process.exit(1); });
