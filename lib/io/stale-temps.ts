/**
 * Temp names of the atomic writers, and the sweeper of temps that a killed writer left beside a target (kill -9
 * or a power loss between the temp write and its rename). Every atomic writer of the project names its temp
 * after the target and its pid, in one of these forms (the TypeScript ones are made here, by tempPathFor,
 * partialDirFor and replacedDirFor; the native ones in C++):
 *   .<name>.<pid>.<n>.tmp        writeFileAtomic, withAtomicPath, AtomicLineWriter (lib/io/), and every native
 *                                file (native/common/file_io.h: index, model weights and config, optimizer state)
 *   <name>.tmp-<pid>-<n>         native model files written by versions before the one native writer
 *   <name>.tmp.<pid>.<n>         native index files written by versions before the one native writer
 *   .partial-<name>-<pid>/       a folder being built (withAtomicDir: training checkpoints, the trained model)
 *   .replaced-<name>-<pid>/      the previous folder, moved aside while the new one is renamed in (replaceDir)
 * A temp is stale when its process is gone here AND nobody touched it for STALE_AFTER_MS: the pid test alone
 * would delete a live writer's temp on another machine sharing the folder.
 */
import * as fs from 'fs';
import * as path from 'path';

export const STALE_AFTER_MS = 10 * 60 * 1000;

let tempSeq = 0;

/** A temp file name beside `target` (same folder, so the final rename stays on one filesystem and is atomic
 *  there), unique within this process, in the form the sweeper recognises. */
export function tempPathFor(target: string): string {
  const unique = Date.now().toString(36) + (tempSeq++).toString(36);
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${unique}.tmp`);
}

/** The folder a new version of folder `target` is built in before it is renamed into place. */
export function partialDirFor(target: string): string {
  return path.join(path.dirname(target), `.partial-${path.basename(target)}-${process.pid}`);
}

/** Where the previous version of folder `target` waits while the new one is renamed in. */
export function replacedDirFor(target: string): string {
  return path.join(path.dirname(target), `.replaced-${path.basename(target)}-${process.pid}`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The pid a temp of `name` carries, or null when `entry` is not one of `name`'s temps. */
export function tempOwnerPid(entry: string, name: string): number | null {
  const n = escape(name);
  const patterns = [
    new RegExp(`^\\.${n}\\.(\\d+)\\.[0-9a-z]+\\.tmp$`),
    new RegExp(`^${n}\\.tmp-(\\d+)-\\d+$`),
    new RegExp(`^${n}\\.tmp\\.(\\d+)\\.\\d+$`),
    new RegExp(`^\\.partial-${n}-(\\d+)$`),
    new RegExp(`^\\.replaced-${n}-(\\d+)$`),
  ];
  for (const p of patterns) {
    const m = p.exec(entry);
    if (m) return Number(m[1]);
  }
  return null;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;  // ours: maybe being written right now
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';  // exists, owned by someone else
  }
}

/**
 * Removes the stale temps of the given names in `dir` (all names' temps when `names` is omitted is not
 * offered: a folder may hold other programs' files). Returns the paths removed. Never throws for a temp
 * that vanished meanwhile.
 */
export function sweepStaleTemps(dir: string, names: string[], now = Date.now()): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    for (const name of names) {
      const pid = tempOwnerPid(entry, name);
      if (pid === null || processAlive(pid)) continue;
      const full = path.join(dir, entry);
      try {
        if (now - fs.statSync(full).mtimeMs < STALE_AFTER_MS) continue;
        fs.rmSync(full, { recursive: true, force: true });
        removed.push(full);
      } catch {
        // gone already, or not ours to remove: leave it
      }
      break;
    }
  }
  return removed;
}

const swept = new Set<string>();

/** sweepStaleTemps for one target, once per process (writers call it on every write). */
export function sweepStaleTempsOnce(target: string): void {
  const key = path.resolve(target);
  if (swept.has(key)) return;
  swept.add(key);
  sweepStaleTemps(path.dirname(key), [path.basename(key)]);
}
