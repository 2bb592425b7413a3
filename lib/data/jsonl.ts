import { DataError, DataProblem, WarningSink, describeProblem, stderrWarnings } from './errors';
import { readLines, requireFile } from './lines';

/** What to do with a line that is not valid JSON or not a valid record: stop, or skip it and report it. */
export type BadLinePolicy = 'fail' | 'skip';

export interface JsonlOptions {
  /** Default 'fail'. With 'skip', every skipped line is still counted in the report and announced. */
  onBadLine?: BadLinePolicy;
  /** Receives one message per skipped line; default: stderr. */
  warn?: WarningSink;
}

/** Lines skipped under `onBadLine: 'skip'`; callers return it so skipping is never silent. */
export interface JsonlReport {
  file: string;
  records: number;
  skipped: DataProblem[];
}

/**
 * Turns a parsed JSON value into a record, or returns a string saying why the line is invalid.
 * Keeping validation in the caller lets one reader serve corpus, query and vector files.
 */
export type RecordValidator<T> = (value: unknown) => T | string;

/**
 * Streams the records of a JSONL file (one JSON value per line; blank lines are ignored because they
 * carry no record). Bad lines either throw a DataError naming file and line, or are skipped and
 * recorded in `report.skipped`.
 */
export async function* readJsonl<T>(file: string, validate: RecordValidator<T>, options: JsonlOptions = {},
  report: JsonlReport = { file, records: 0, skipped: [] }): AsyncGenerator<{ record: T; line: number }> {
  const policy = options.onBadLine ?? 'fail';
  if (policy !== 'fail' && policy !== 'skip') throw new Error(`onBadLine must be 'fail' or 'skip', got '${String(policy)}'`);
  const warn = options.warn ?? stderrWarnings;
  requireFile(file, 'JSONL file');
  for await (const { text, line } of readLines(file)) {
    if (text.trim() === '') continue;
    let reason: string;
    try {
      const result = validate(JSON.parse(text));
      if (typeof result !== 'string') {
        report.records++;
        yield { record: result, line };
        continue;
      }
      reason = result;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      reason = `invalid JSON (${e.message})`;
    }
    if (policy === 'fail') throw new DataError(file, line, reason);
    const problem = { file, line, reason: `skipped line: ${reason}` };
    report.skipped.push(problem);
    warn(describeProblem(problem));
  }
}

/** A string field of a JSON object, or an explanation of why it is missing or of the wrong type. */
export function stringField(obj: Record<string, unknown>, key: string, required: boolean): string | { error: string } {
  const value = obj[key];
  if (value === undefined || value === null) return required ? { error: `missing "${key}"` } : '';
  if (typeof value === 'string') return value;
  // BEIR ids are sometimes written as numbers; they are identifiers either way.
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return { error: `"${key}" must be a string, got ${Array.isArray(value) ? 'array' : typeof value}` };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
