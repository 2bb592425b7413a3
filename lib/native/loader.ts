/**
 * Finds and loads the native addon and makes sure it binds to the LibTorch it was built against.
 *   1. L0SPARSE_ADDON (an explicit .node file);
 *   2. with a LibTorch recorded in <package>/.deps/libtorch.json (written by scripts/libtorch.js in a clone,
 *      or by `l0sparse setup` in a user install): build/Release/l0sparse.node when its sidecar names the same
 *      tag (like node-gyp-build, a local build wins), else prebuilds/<platform>-<arch>/l0sparse.napi.<tag>.node,
 *      else the binary package (@l0sparse/<platform>-<arch>-<variant>) built for that tag;
 *   3. with no record (install scripts did not run, or the package folder is read-only): the binary package of
 *      the requested variant and its LibTorch from the per-user cache, fetched first (`l0sparse setup`, in a
 *      child process, with a one-line notice) unless L0SPARSE_AUTO_SETUP=0.
 * A binary package's RUNPATH cannot know the cache folder, so its LibTorch libraries are loaded first
 * (RTLD_GLOBAL); the addon's own NEEDED entries then resolve to them by soname.
 * Any failure says what was found, what was needed and which command fixes it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

import { findBinaryPackage, missingBinaryMessage } from '../setup/binary';
import { findLibTorch, readManifest, requestedVariant } from '../setup/libtorch';
import { isDevelopmentClone, packageRoot } from '../setup/paths';

import type { Tensor } from './tensor';

export interface BuildInfo {
  torchVersion: string;
  cuda: boolean;
  cudaAvailable: boolean;
  /** CUDA devices visible to this process (0 in the CPU build or without a GPU). */
  cudaDeviceCount: number;
  numThreads: number;
  hardwareConcurrency: number;
}

export interface TorchRecord {
  root: string;
  version: string;
  variant: 'cpu' | 'cuda';
  tag: string;
  source: string;
}

/** The addon's exports. Concept modules extend this interface by declaration merging. */
export interface NativeAddon {
  setNumThreads(n: number): void;
  getNumThreads(): number;
  buildInfo(): BuildInfo;
  sparseHeadReference(args: {
    hidden: Tensor; weight: Tensor; bias: Tensor; mask: Tensor;
    activation?: 'relu' | 'l0'; k?: number; gradOutput?: Tensor;
  }): Promise<{ weights: Tensor; gradHidden?: Tensor; gradWeight?: Tensor; gradBias?: Tensor }>;
}

export class NativeLoadError extends Error {
  override name = 'NativeLoadError';
}

export { packageRoot };

export function readTorchRecord(root = packageRoot()): TorchRecord | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, '.deps', 'libtorch.json'), 'utf8')) as TorchRecord;
  } catch {
    return null;
  }
}

/** Paths tried for a record, in order, with the reason each was rejected. */
export function addonCandidates(root: string, record: TorchRecord): { file: string; ok: boolean; why: string; binaryPackage?: boolean }[] {
  const out: { file: string; ok: boolean; why: string; binaryPackage?: boolean }[] = [];
  const built = path.join(root, 'build', 'Release', 'l0sparse.node');
  let why = 'not built from source';
  let ok = false;
  if (fs.existsSync(built)) {
    try {
      const info = JSON.parse(fs.readFileSync(built.replace(/\.node$/, '.json'), 'utf8')) as { tag: string };
      ok = info.tag === record.tag;
      why = ok ? '' : `built for ${info.tag}`;
    } catch {
      why = 'source build without its sidecar l0sparse.json';
    }
  }
  out.push({ file: built, ok, why });
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const prebuild = path.join(dir, `l0sparse.napi.${record.tag}.node`);
  out.push({ file: prebuild, ok: fs.existsSync(prebuild), why: 'no prebuild for this tag' });
  const binary = findBinaryPackage(record.variant, root);
  if (binary) {
    out.push({ file: binary.addon, ok: binary.tag === record.tag, why: `${binary.name} is built for ${binary.tag}`, binaryPackage: true });
  }
  return out;
}

/** Where the loaded addon and its LibTorch came from (`l0sparse info`). */
export interface NativeOrigin {
  addon: string;
  from: 'L0SPARSE_ADDON' | 'source build' | 'prebuild' | 'binary package';
  libtorch: string | null;
  libtorchSource: string | null;
  preloaded: string[];
}

let cached: NativeAddon | null = null;
let origin: NativeOrigin | null = null;

export function nativeOrigin(): NativeOrigin | null {
  return origin;
}

/** glibc's RTLD_NODELETE: Node's process.dlopen closes a library that is not an addon, and this keeps it loaded. */
const RTLD_NODELETE = 0x1000;
/** The LibTorch libraries an addon links, in dependency order (each finds its own dependencies by $ORIGIN). */
const LIBTORCH_LIBS = ['libc10.so', 'libtorch_cpu.so', 'libc10_cuda.so', 'libtorch_cuda.so', 'libtorch.so'];

/** Loads a LibTorch's libraries globally, so that an addon without a RUNPATH to them binds to these. */
export function preloadLibTorch(libtorchRoot: string): string[] {
  const flags = os.constants.dlopen;
  const loaded: string[] = [];
  for (const name of LIBTORCH_LIBS) {
    const file = path.join(libtorchRoot, 'lib', name);
    if (!fs.existsSync(file)) continue;
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, file, (flags.RTLD_NOW ?? 2) | (flags.RTLD_GLOBAL ?? 256) | RTLD_NODELETE);
    } catch (e) {
      // A plain library is loaded and kept; only the addon registration that follows fails, as expected.
      if (!/did not self-register/.test((e as Error).message)) {
        throw new NativeLoadError(`l0sparse: cannot load ${file}: ${(e as Error).message}\n` +
          'Fetch the LibTorch again with `npx l0sparse setup --force`.');
      }
    }
    loaded.push(file);
  }
  if (!loaded.includes(path.join(libtorchRoot, 'lib', 'libtorch.so'))) {
    throw new NativeLoadError(`l0sparse: ${libtorchRoot}/lib has no libtorch.so; fetch the LibTorch again with \`npx l0sparse setup --force\``);
  }
  return loaded;
}

/** A user install without a record: the binary package of the requested variant and its cached LibTorch. */
function planFromCache(root: string): { file: string; libtorch: { root: string; source: string } } {
  const variant = requestedVariant();
  const binary = findBinaryPackage(variant, root);
  if (!binary) throw new NativeLoadError(missingBinaryMessage(variant, root));
  const entry = readManifest(root).variants[variant];
  const notes: string[] = [];
  let libtorch = findLibTorch(entry, process.env, (l) => notes.push(l));
  if (!libtorch && process.env.L0SPARSE_AUTO_SETUP !== '0') {
    process.stderr.write(`l0sparse: LibTorch ${entry.torch} (${variant}) is not set up yet; fetching it once into the user cache now ` +
      '(same as `npx l0sparse setup`; L0SPARSE_AUTO_SETUP=0 turns this off)\n');
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'lib', 'cli', 'main.js'), 'setup', '--variant', variant],
      { stdio: ['ignore', 2, 'inherit'], env: { ...process.env, L0SPARSE_AUTO_SETUP: '0' } });
    if (r.status !== 0) {
      throw new NativeLoadError(`l0sparse: setting up LibTorch ${entry.torch} (${variant}) failed (see above); fix what it names and run \`npx l0sparse setup\``);
    }
    libtorch = findLibTorch(entry, process.env, (l) => notes.push(l));
  }
  if (!libtorch) {
    throw new NativeLoadError(`l0sparse: LibTorch ${entry.torch} (${variant}) is not set up${notes.length ? ` (${notes.join('; ')})` : ''}.\n` +
      'Fix: run `npx l0sparse setup` (or `L0SPARSE_VARIANT=cuda npx l0sparse setup` for CUDA), or set L0SPARSE_LIBTORCH=<an unpacked LibTorch ' +
      `${entry.torch} ${variant}>.`);
  }
  return { file: binary.addon, libtorch };
}

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const explicit = process.env.L0SPARSE_ADDON;
  const root = packageRoot();
  let next: NativeOrigin;
  if (explicit) {
    next = { addon: path.resolve(explicit), from: 'L0SPARSE_ADDON', libtorch: null, libtorchSource: null, preloaded: [] };
  } else {
    const record = readTorchRecord(root);
    const recordUsable = record !== null && fs.existsSync(path.join(record.root, 'lib'));
    if (!recordUsable && !isDevelopmentClone(root)) {
      const plan = planFromCache(root);
      next = { addon: plan.file, from: 'binary package', libtorch: plan.libtorch.root, libtorchSource: plan.libtorch.source, preloaded: [] };
    } else if (!record) {
      throw new NativeLoadError(
        'l0sparse: no LibTorch has been chosen for this install (.deps/libtorch.json is missing).\n' +
          `Run \`npm rebuild l0sparse\` (or \`node scripts/libtorch.js && npm run build:native\` in ${root}).\n` +
          'To use an existing LibTorch set L0SPARSE_LIBTORCH=/path/to/libtorch first.');
    } else if (!recordUsable) {
      throw new NativeLoadError(
        `l0sparse: the recorded LibTorch ${record.version} (${record.variant}) at ${record.root} is gone.\n` +
          'Run `npm rebuild l0sparse` to provision it again.');
    } else {
      const candidates = addonCandidates(root, record);
      const hit = candidates.find((c) => c.ok);
      if (!hit) {
        const tried = candidates.map((c) => `  ${c.file}: ${c.why}`).join('\n');
        if (!isDevelopmentClone(root) && !candidates.some((c) => c.binaryPackage)) {
          throw new NativeLoadError(`${missingBinaryMessage(record.variant, root)}\nTried:\n${tried}`);
        }
        throw new NativeLoadError(
          `l0sparse: no native addon for LibTorch ${record.version} (${record.tag}).\nTried:\n${tried}\n` +
            'Build it from source with `npm run build:native` (needs cmake and a C++20 compiler: ' +
            '`apt-get install cmake g++`), or provision the LibTorch a prebuild was made for ' +
            '(`L0SPARSE_VARIANT=cpu npm rebuild l0sparse`).');
      }
      next = {
        addon: hit.file, from: hit.binaryPackage ? 'binary package' : hit.file.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuild' : 'source build',
        libtorch: record.root, libtorchSource: record.source, preloaded: [],
      };
    }
    if (next.from === 'binary package' && next.libtorch) next.preloaded = preloadLibTorch(next.libtorch);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(next.addon) as NativeAddon;
  } catch (e) {
    throw new NativeLoadError(`l0sparse: loading ${next.addon} failed: ${(e as Error).message}\n` +
      'If a shared library is missing, run `npx l0sparse setup --force` (user install) or `npm rebuild l0sparse` (clone).');
  }
  origin = next;
  return cached;
}

/** Calls an async native function so that argument errors (thrown synchronously) become rejections. */
export function callAsync<T>(fn: (addon: NativeAddon) => Promise<T>): Promise<T> {
  try {
    return fn(loadNative());
  } catch (e) {
    return Promise.reject(e);
  }
}
