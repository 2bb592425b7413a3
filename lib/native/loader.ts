/**
 * Finds and loads the native addon that matches the LibTorch recorded at install time
 * (.deps/libtorch.json, written by scripts/libtorch.js). node-gyp-build alone cannot choose between
 * variant tags (torch2130-cpu vs torch2141-cu130), so the choice is made here:
 *   1. L0SPARSE_ADDON (an explicit .node file),
 *   2. build/Release/l0sparse.node when its sidecar names the same tag (a from-source build: like
 *      node-gyp-build, a local build wins, so a rebuilt addon is never shadowed by an older prebuild),
 *   3. prebuilds/<platform>-<arch>/l0sparse.napi.<tag>.node.
 * Any failure says what was found, what was needed and which command fixes it.
 */
import * as fs from 'fs';
import * as path from 'path';

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

export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'l0sparse') return dir;
    dir = path.dirname(dir);
  }
  throw new NativeLoadError(`cannot find the l0sparse package root above ${__dirname}`);
}

export function readTorchRecord(root = packageRoot()): TorchRecord | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, '.deps', 'libtorch.json'), 'utf8')) as TorchRecord;
  } catch {
    return null;
  }
}

/** Paths tried for a record, in order, with the reason each was rejected. */
export function addonCandidates(root: string, record: TorchRecord): { file: string; ok: boolean; why: string }[] {
  const out: { file: string; ok: boolean; why: string }[] = [];
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
  return out;
}

let cached: NativeAddon | null = null;

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const explicit = process.env.L0SPARSE_ADDON;
  let file: string;
  const root = packageRoot();
  if (explicit) {
    file = path.resolve(explicit);
  } else {
    const record = readTorchRecord(root);
    if (!record) {
      throw new NativeLoadError(
        'l0sparse: no LibTorch has been chosen for this install (.deps/libtorch.json is missing).\n' +
          `Run \`npm rebuild l0sparse\` (or \`node scripts/libtorch.js && npm run build:native\` in ${root}).\n` +
          'To use an existing LibTorch set L0SPARSE_LIBTORCH=/path/to/libtorch first.');
    }
    if (!fs.existsSync(path.join(root, '.deps', 'libtorch', 'lib'))) {
      throw new NativeLoadError(
        `l0sparse: the recorded LibTorch ${record.version} (${record.variant}) at ${record.root} is gone.\n` +
          'Run `npm rebuild l0sparse` to provision it again.');
    }
    const candidates = addonCandidates(root, record);
    const hit = candidates.find((c) => c.ok);
    if (!hit) {
      const tried = candidates.map((c) => `  ${c.file}: ${c.why}`).join('\n');
      throw new NativeLoadError(
        `l0sparse: no native addon for LibTorch ${record.version} (${record.tag}).\nTried:\n${tried}\n` +
          'Build it from source with `npm run build:native` (needs cmake and a C++20 compiler: ' +
          '`apt-get install cmake g++`), or provision the LibTorch a prebuild was made for ' +
          '(`L0SPARSE_VARIANT=cpu npm rebuild l0sparse`).');
    }
    file = hit.file;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(file) as NativeAddon;
  } catch (e) {
    throw new NativeLoadError(`l0sparse: loading ${file} failed: ${(e as Error).message}\n` +
      'If a shared library is missing, run `npm rebuild l0sparse` so .deps/libtorch points at a LibTorch.');
  }
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
