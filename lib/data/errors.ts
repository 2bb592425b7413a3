/**
 * Errors and warnings about input files. Every message names the file and, where there is one, the
 * 1-based line, so a user can open the file at the offending place.
 */
export class DataError extends Error {
  constructor(readonly file: string, readonly line: number | null, readonly reason: string) {
    super(`${line === null ? file : `${file}:${line}`}: ${reason}`);
    this.name = 'DataError';
  }
}

/** A problem that was tolerated (by an explicit option) and is reported instead of failing. */
export interface DataProblem {
  file: string;
  line: number | null;
  reason: string;
}

export function describeProblem(p: DataProblem): string {
  return `${p.line === null ? p.file : `${p.file}:${p.line}`}: ${p.reason}`;
}

/** Where tolerated problems are announced; the default writes one line per problem to stderr. */
export type WarningSink = (message: string) => void;

export const stderrWarnings: WarningSink = (message) => process.stderr.write(`l0sparse: warning: ${message}\n`);
