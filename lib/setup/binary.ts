/**
 * The prebuilt addon of a user install. Binary packages (@l0sparse/linux-x64-cpu, @l0sparse/linux-x64-cuda13)
 * are optional dependencies with `os`/`cpu` fields, as sharp ships its binaries: npm installs the ones that
 * fit the platform, without running any script. Each holds l0sparse.node and l0sparse.json, which names the
 * LibTorch tag the addon was built against.
 */
import * as fs from 'fs';
import * as path from 'path';

import { type ArchiveEntry, type Variant, readManifest } from './libtorch';
import { packageRoot } from './paths';

export interface BinaryPackage {
  name: string;
  dir: string;
  addon: string;
  tag: string;
  variant: Variant;
  torch: string;
}

/** The platforms binary packages are built for (package name suffix per variant). */
export const SUPPORTED_PLATFORMS = ['linux-x64'];

export function platformKey(): string {
  return `${process.platform}-${process.arch}`;
}

/** The binary package of `variant`, when installed next to (or inside) this package; null otherwise. */
export function findBinaryPackage(variant: Variant, root: string = packageRoot()): BinaryPackage | null {
  const entry: ArchiveEntry = readManifest(root).variants[variant];
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${entry.package}/package.json`, { paths: [root] });
  } catch {
    return null;
  }
  const dir = path.dirname(pkgJson);
  const addon = path.join(dir, 'l0sparse.node');
  const metaFile = path.join(dir, 'l0sparse.json');
  if (!fs.existsSync(addon) || !fs.existsSync(metaFile)) return null;
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { tag: string; variant: Variant; torch: string };
  return { name: entry.package, dir, addon, tag: meta.tag, variant: meta.variant, torch: meta.torch };
}

/** Why no binary package can serve this machine, with the command that gets an addon anyway. */
export function missingBinaryMessage(variant: Variant, root: string = packageRoot()): string {
  const entry = readManifest(root).variants[variant];
  const supported = SUPPORTED_PLATFORMS.includes(platformKey());
  const why = supported
    ? `the optional package ${entry.package} is not installed (installed with --omit=optional or --no-optional, or its download failed)`
    : `no prebuilt binary exists for ${platformKey()} (prebuilt: ${SUPPORTED_PLATFORMS.join(', ')})`;
  return `l0sparse: ${why}.\nFix: ${supported ? `\`npm install ${entry.package}@<the l0sparse version>\`, or ` : ''}` +
    'build from source with `L0SPARSE_BUILD_FROM_SOURCE=1 npm rebuild l0sparse` (needs cmake >= 3.25 and a C++20 compiler).';
}
