import * as fs from 'fs';
import * as path from 'path';

import { sweepStaleTempsOnce } from './stale-temps';

/** A temp name beside the target, so the final rename stays on one filesystem (and is atomic there). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/**
 * Writes `data` to `target` through a temp file + rename, so readers never see a half-written file and a
 * crash leaves the previous version in place.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
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

/** Like writeFileAtomic, for producers that can only write to a path (e.g. native savers). */
export function withAtomicPath(target: string, write: (tmp: string) => void): void {
  sweepStaleTempsOnce(target);
  const tmp = tempPathFor(target);
  try {
    write(tmp);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
