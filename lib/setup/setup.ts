/**
 * `l0sparse setup` and the install hook of a user install: picks the variant, finds its binary package and
 * makes sure the LibTorch that binary was built against is in the per-user cache (found or fetched and
 * checked), then records the choice in <package>/.deps/libtorch.json for the loader. Recording is best effort:
 * a read-only install still works, because the loader can find the cached LibTorch by itself.
 */
import * as path from 'path';

import { type BinaryPackage, findBinaryPackage, missingBinaryMessage } from './binary';
import {
  type LibTorchInfo, SetupError, type Variant, findLibTorch, installLibTorch, readManifest, requestedVariant,
} from './libtorch';
import { isDevelopmentClone, packageRoot } from './paths';
import { byteProgress } from './progress';
import type { Env } from './proxy';

export interface SetupOptions {
  variant?: Variant;
  archive?: string;
  url?: string;
  mirror?: string;
  sha256?: string;
  /** Fetch again even when a matching LibTorch is found. */
  force?: boolean;
  progress?: boolean;
  env?: Env;
  log?: (line: string) => void;
  /** Where the record goes (default: this package's root); null: do not record. */
  recordRoot?: string | null;
  retries?: number;
  backoffMs?: number;
}

export interface SetupResult {
  variant: Variant;
  tag: string;
  libtorch: LibTorchInfo;
  binary: BinaryPackage | null;
  downloaded: boolean;
  recorded: string | null;
  seconds: number;
}

interface RecordScript {
  record(choice: LibTorchInfo): unknown;
  RECORD: string;
}

export async function runSetup(o: SetupOptions = {}): Promise<SetupResult> {
  const t0 = Date.now();
  const root = packageRoot();
  const env = o.env ?? process.env;
  const log = o.log ?? ((line: string) => process.stderr.write(`[l0sparse:setup] ${line}\n`));
  const variant = o.variant ?? requestedVariant(env);
  const manifest = readManifest(root);
  const entry = manifest.variants[variant];
  const binary = findBinaryPackage(variant, root);
  if (binary && binary.tag !== entry.tag) {
    throw new SetupError(`${binary.name} was built for ${binary.tag} but this l0sparse expects ${entry.tag}: the two versions differ; ` +
      `reinstall both (\`npm install l0sparse@<version> ${binary.name}@<same version>\`)`);
  }
  if (!binary && !isDevelopmentClone(root)) log(missingBinaryMessage(variant, root).replace(/^l0sparse: /, ''));
  let libtorch = o.force ? null : findLibTorch(entry, env, log);
  let downloaded = false;
  if (libtorch) {
    log(`LibTorch ${libtorch.version} (${libtorch.tag}) already set up at ${libtorch.root} (${libtorch.source})`);
  } else {
    libtorch = await installLibTorch({
      entry, baseUrl: manifest.baseUrl, env, archive: o.archive, url: o.url, mirror: o.mirror, sha256: o.sha256, log,
      progress: byteProgress(`LibTorch ${entry.torch} (${variant})`, log, o.progress !== false), retries: o.retries, backoffMs: o.backoffMs,
    });
    downloaded = libtorch.source === 'download';
    log(`LibTorch ${libtorch.version} (${libtorch.tag}) is ready at ${libtorch.root}`);
  }
  let recorded: string | null = null;
  const recordRoot = o.recordRoot === undefined ? root : o.recordRoot;
  if (recordRoot) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const script = require(path.join(recordRoot, 'scripts', 'libtorch.js')) as RecordScript;
      script.record(libtorch);
      recorded = script.RECORD;
    } catch (e) {
      log(`could not record the choice in ${recordRoot}/.deps (${(e as Error).message}); the loader will look in the cache itself`);
    }
  }
  return { variant, tag: entry.tag, libtorch, binary, downloaded, recorded, seconds: (Date.now() - t0) / 1000 };
}
