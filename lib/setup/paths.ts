/** Where the package and the per-user cache live (shared by lib/native/loader.ts and lib/setup). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { Env } from './proxy';

/** The installed l0sparse package's root folder (the one with its package.json). */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'l0sparse') return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the l0sparse package root above ${__dirname}`);
}

/** The per-user cache shared by every project (LibTorch, the demo's data): $L0SPARSE_CACHE, else ~/.cache/l0sparse. */
export function cacheDir(env: Env = process.env): string {
  if (env.L0SPARSE_CACHE) return path.resolve(env.L0SPARSE_CACHE);
  return path.join(os.homedir(), '.cache', 'l0sparse');
}

/** A development clone (sources + tsconfig.json) rather than a package installed from a registry. */
export function isDevelopmentClone(root: string = packageRoot()): boolean {
  return fs.existsSync(path.join(root, 'tsconfig.json')) && fs.existsSync(path.join(root, 'lib'));
}
