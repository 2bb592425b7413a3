/**
 * File output of the project: atomic writes by rename (files, paths for native savers, streamed lines,
 * folders) and the sweeper of temps that killed writers left behind. Every TypeScript writer that replaces
 * a file goes through here, so there is one temp naming scheme for the sweeper to recognise.
 */
export { writeFileAtomic, withAtomicPath, withAtomicDir, replaceDir, fsyncFile } from './atomic-write';
export { AtomicLineWriter } from './atomic-line-writer';
export {
  STALE_AFTER_MS, tempPathFor, partialDirFor, replacedDirFor, tempOwnerPid, sweepStaleTemps, sweepStaleTempsOnce,
} from './stale-temps';
export { startProgress } from './progress';
export type { ProgressReporter, ProgressDisplayOptions } from './progress';
