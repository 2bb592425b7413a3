/**
 * The LibTorch a prebuilt binary needs, on a user's machine. Each binary package is built against one pinned
 * LibTorch archive (assets/libtorch-archives.json: version, variant, tag, file, SHA-256). Resolution, first
 * match wins, and nothing of another version or variant is ever adopted silently:
 *   1. L0SPARSE_LIBTORCH, an unpacked LibTorch folder: used when its tag matches, else an error;
 *   2. the per-user cache, <cacheDir>/libtorch/<tag>/libtorch, shared by every project;
 *   3. the Python torch of L0SPARSE_PYTHON (only when that variable is set): used when its tag matches,
 *      else a message says why it was passed over;
 *   4. otherwise installLibTorch fetches the archive (L0SPARSE_LIBTORCH_ARCHIVE, a local zip;
 *      L0SPARSE_LIBTORCH_URL, a full URL; or <L0SPARSE_LIBTORCH_MIRROR or the official host>/<path>/<file>),
 *      checks its SHA-256, and unpacks it into the cache atomically.
 */
import * as fs from 'fs';
import * as path from 'path';

import { withAtomicDir } from '../io';
import { type DownloadResult, downloadFile, fileSha256 } from './download';
import { cacheDir, packageRoot } from './paths';
import type { Env } from './proxy';
import { extractZip } from './unzip';

export type Variant = 'cpu' | 'cuda';

export interface ArchiveEntry {
  package: string;
  torch: string;
  tag: string;
  path: string;
  file: string;
  sha256: string | null;
}

export interface ArchiveManifest {
  baseUrl: string;
  variants: Record<Variant, ArchiveEntry>;
}

export interface LibTorchInfo {
  root: string;
  version: string;
  variant: Variant;
  tag: string;
  source: string;
}

/** An error a user fixes by running a command or setting a variable; the message names which. */
export class SetupError extends Error {
  override name = 'SetupError';
}

interface DescribeScript {
  torchRootOf(p: string): string | null;
  describeRoot(root: string): { root: string; version: string; variant: Variant; tag: string };
  pythonTorch(python: string): string | null;
}

/** scripts/libtorch.js (shipped in the package) tells versions and variants of LibTorch folders for the build too. */
function describeScript(): DescribeScript {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(packageRoot(), 'scripts', 'libtorch.js')) as DescribeScript;
}

export function readManifest(root: string = packageRoot()): ArchiveManifest {
  return JSON.parse(fs.readFileSync(path.join(root, 'assets', 'libtorch-archives.json'), 'utf8')) as ArchiveManifest;
}

/** 'cpu' or 'cuda' from a user's setting; `from` names where it came from, for the error. */
export function parseVariant(value: string, from: string): Variant {
  const v = value.trim().toLowerCase();
  if (v === 'cpu') return 'cpu';
  if (v === 'cuda' || v === 'cuda13' || v === 'cu130') return 'cuda';
  throw new SetupError(`${from}=${value} is not a variant: use cpu (the default) or cuda`);
}

/** The variant asked for: L0SPARSE_VARIANT, else the npm config key l0sparse_variant, else cpu. */
export function requestedVariant(env: Env = process.env): Variant {
  if (env.L0SPARSE_VARIANT) return parseVariant(env.L0SPARSE_VARIANT, 'L0SPARSE_VARIANT');
  if (env.npm_config_l0sparse_variant) return parseVariant(env.npm_config_l0sparse_variant, 'npm config l0sparse_variant');
  return 'cpu';
}

export function libtorchCacheDir(tag: string, env: Env = process.env): string {
  return path.join(cacheDir(env), 'libtorch', tag);
}

/** Describes a LibTorch folder, or null when `dir` does not hold one. */
export function describeLibTorch(dir: string, source: string): LibTorchInfo | null {
  const script = describeScript();
  const root = script.torchRootOf(dir);
  if (!root) return null;
  const d = script.describeRoot(root);
  return { root: d.root, version: d.version, variant: d.variant, tag: d.tag, source };
}

/** Rules 1–3 of the module comment: an existing LibTorch for `entry`, or null when it must be fetched. */
export function findLibTorch(entry: ArchiveEntry, env: Env = process.env, log: (line: string) => void = () => undefined): LibTorchInfo | null {
  const wanted = `LibTorch ${entry.torch} (${entry.tag})`;
  if (env.L0SPARSE_LIBTORCH) {
    const found = describeLibTorch(env.L0SPARSE_LIBTORCH, 'L0SPARSE_LIBTORCH');
    if (!found) throw new SetupError(`L0SPARSE_LIBTORCH=${env.L0SPARSE_LIBTORCH} is not a LibTorch folder (no share/cmake/Torch/TorchConfig.cmake); unset it to let \`npx l0sparse setup\` fetch ${wanted}`);
    if (found.tag !== entry.tag) {
      throw new SetupError(`L0SPARSE_LIBTORCH=${env.L0SPARSE_LIBTORCH} is LibTorch ${found.version} (${found.tag}) but the prebuilt addon needs ${wanted}; ` +
        'unset L0SPARSE_LIBTORCH to use the pinned one, or build against yours with `L0SPARSE_BUILD_FROM_SOURCE=1 npm rebuild l0sparse`');
    }
    return found;
  }
  const cached = describeLibTorch(path.join(libtorchCacheDir(entry.tag, env), 'libtorch'), 'cache');
  if (cached && cached.tag === entry.tag) return cached;
  if (env.L0SPARSE_PYTHON) {
    const dir = describeScript().pythonTorch(env.L0SPARSE_PYTHON);
    const found = dir ? describeLibTorch(dir, 'python') : null;
    if (found && found.tag === entry.tag) return found;
    log(found ? `not using the Python torch of L0SPARSE_PYTHON=${env.L0SPARSE_PYTHON}: it is ${found.version} (${found.tag}), the addon needs ${wanted}`
      : `L0SPARSE_PYTHON=${env.L0SPARSE_PYTHON} has no importable torch; fetching ${wanted} instead`);
  }
  return null;
}

export interface InstallOptions {
  entry: ArchiveEntry;
  baseUrl: string;
  env?: Env;
  /** A local zip (offline installs); else L0SPARSE_LIBTORCH_ARCHIVE. */
  archive?: string;
  /** A full URL; else L0SPARSE_LIBTORCH_URL. */
  url?: string;
  /** A base URL replacing the official host; else L0SPARSE_LIBTORCH_MIRROR. */
  mirror?: string;
  /** The expected SHA-256; else L0SPARSE_LIBTORCH_SHA256, else the pinned one. */
  sha256?: string;
  log?: (line: string) => void;
  progress?: { onStart(total: number | null): void; onProgress(bytes: number): void; stop(): void };
  retries?: number;
  backoffMs?: number;
}

export function archiveUrl(entry: ArchiveEntry, base: string): string {
  return `${base.replace(/\/+$/, '')}/${entry.path}/${encodeURIComponent(entry.file)}`;
}

/** Rule 4: fetches (or takes) the archive, checks it and unpacks it into the cache; returns the cached LibTorch. */
export async function installLibTorch(o: InstallOptions): Promise<LibTorchInfo & { download?: DownloadResult; archiveSha256: string }> {
  const env = o.env ?? process.env;
  const log = o.log ?? (() => undefined);
  const { entry } = o;
  const expected = (o.sha256 ?? env.L0SPARSE_LIBTORCH_SHA256 ?? entry.sha256 ?? null)?.toLowerCase() ?? null;
  const target = libtorchCacheDir(entry.tag, env);
  const archive = o.archive ?? env.L0SPARSE_LIBTORCH_ARCHIVE;
  let zip: string;
  let download: DownloadResult | undefined;
  let archiveSha256: string;
  if (archive) {
    if (!fs.existsSync(archive)) throw new SetupError(`L0SPARSE_LIBTORCH_ARCHIVE / --archive ${archive} does not exist`);
    zip = path.resolve(archive);
    archiveSha256 = await fileSha256(zip);
    if (expected && archiveSha256 !== expected) {
      throw new SetupError(`${zip}: SHA-256 ${archiveSha256} but ${expected} is expected for ${entry.file}; use the official archive, or set L0SPARSE_LIBTORCH_SHA256 if this one is right`);
    }
    if (!expected) log(`${zip} has no pinned SHA-256 to check against; using it as given (SHA-256 ${archiveSha256})`);
  } else {
    const url = o.url ?? env.L0SPARSE_LIBTORCH_URL ?? archiveUrl(entry, o.mirror ?? env.L0SPARSE_LIBTORCH_MIRROR ?? o.baseUrl);
    if (!expected) {
      throw new SetupError(`no SHA-256 is pinned for ${entry.file} in this release (assets/libtorch-archives.json), so a download cannot be checked; ` +
        'set L0SPARSE_LIBTORCH_SHA256=<its sha256>, or give a local archive with L0SPARSE_LIBTORCH_ARCHIVE=<zip> or an unpacked LibTorch with L0SPARSE_LIBTORCH=<dir>');
    }
    zip = path.join(cacheDir(env), 'libtorch', 'downloads', entry.file);
    log(`downloading ${entry.file} from ${url}`);
    try {
      download = await downloadFile({ url, dest: zip, sha256: expected, env, log, retries: o.retries, backoffMs: o.backoffMs,
        onStart: o.progress?.onStart, onProgress: o.progress?.onProgress });
    } catch (e) {
      throw new SetupError(`${(e as Error).message}\nFix: check the network or proxy (HTTPS_PROXY, NO_PROXY), point L0SPARSE_LIBTORCH_MIRROR at a mirror holding ` +
        `${entry.path}/${entry.file}, or download it yourself and run \`npx l0sparse setup --archive <zip>\``);
    } finally {
      o.progress?.stop();
    }
    archiveSha256 = download.sha256;
  }
  try {
    await withAtomicDir(target, async (tmp) => {
      await extractZip(zip, tmp);
      const found = describeLibTorch(path.join(tmp, 'libtorch'), 'archive');
      if (!found) throw new SetupError(`${zip} holds no libtorch/ folder with share/cmake/Torch; is it a LibTorch archive?`);
      if (found.tag !== entry.tag) throw new SetupError(`${zip} holds LibTorch ${found.version} (${found.tag}), not the ${entry.torch} (${entry.tag}) this release needs`);
      fs.writeFileSync(path.join(tmp, 'source.json'), JSON.stringify({ file: entry.file, sha256: archiveSha256, from: archive ?? 'download', at: new Date().toISOString() }, null, 2) + '\n');
    });
  } finally {
    if (download) fs.rmSync(zip, { force: true });
  }
  const installed = describeLibTorch(path.join(target, 'libtorch'), archive ? 'archive' : 'download');
  if (!installed) throw new SetupError(`unpacking into ${target} left no LibTorch there`);
  return { ...installed, download, archiveSha256 };
}
