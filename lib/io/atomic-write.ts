/**
 * Atomic writes by rename: the new content goes to a temp beside the target (named by tempPathFor /
 * partialDirFor, lib/io/stale-temps.ts, so the sweeper finds it after a kill), is flushed, and is renamed
 * over the target. Readers see the old or the new version, never a half-written one; a failed write removes
 * its temp and leaves the previous version in place.
 */
import * as fs from 'fs';
import * as path from 'path';

import { partialDirFor, replacedDirFor, sweepStaleTempsOnce, tempPathFor } from './stale-temps';

export { tempPathFor } from './stale-temps';

/** fsync of a file that was written (and closed) elsewhere, e.g. by a native saver or a stream. */
export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/**
 * Writes `data` to `target` through a temp file + fsync + rename. The target's folder is created when missing.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  sweepStaleTempsOnce(target);
  const tmp = tempPathFor(target);
  try {
    // Flushed before the rename: after a power loss the target is the old or the new content, never empty.
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Like writeFileAtomic, for producers that can only write to a path (e.g. native savers): `write` fills the
 * temp file, which is then fsynced and renamed over `target`.
 */
export function withAtomicPath(target: string, write: (tmp: string) => void): void {
  sweepStaleTempsOnce(target);
  const tmp = tempPathFor(target);
  try {
    write(tmp);
    fsyncFile(tmp);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Puts the finished folder `src` in place of folder `target`. A folder cannot replace a non-empty folder in
 * one rename (rename(2) fails with ENOTEMPTY/EEXIST), so this is three steps, each one rename or removal:
 * the old folder is renamed aside (replacedDirFor), the new one renamed in, and only then the old one removed.
 * At every instant `target` is the complete old folder, missing (between the two renames only), or the
 * complete new folder — never a mix or a half-written one; if the second rename fails the old folder is put
 * back. A kill between the renames leaves the old folder aside under a name the sweeper recognises.
 */
export function replaceDir(src: string, target: string): void {
  sweepStaleTempsOnce(target);
  const aside = replacedDirFor(target);
  fs.rmSync(aside, { recursive: true, force: true });
  let moved = false;
  try {
    fs.renameSync(target, aside);
    moved = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;  // no previous folder: a plain rename
  }
  try {
    fs.renameSync(src, target);
  } catch (e) {
    if (moved) fs.renameSync(aside, target);
    throw e;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Builds a new version of folder `target` in a hidden partial folder beside it (partialDirFor) and puts it in
 * place with replaceDir once `build` has finished; a failed build removes the partial folder and leaves the
 * previous `target` untouched.
 */
export async function withAtomicDir(target: string, build: (tmpDir: string) => Promise<void> | void): Promise<void> {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  sweepStaleTempsOnce(target);
  const tmp = partialDirFor(target);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fs.mkdirSync(tmp);
    await build(tmp);
    replaceDir(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
