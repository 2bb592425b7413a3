/**
 * Parsers for CLI option values (commander hands every value over as a string). Each names the flag in its
 * error, so `l0sparse x --steps 1.5` says which value is wrong and why.
 */

/** A finite number. */
export function numberValue(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got '${value}'`);
  return n;
}

/** An integer >= min (default: any integer). */
export function integerValue(value: string, flag: string, min?: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || (min !== undefined && n < min)) {
    const what = min === undefined ? 'an integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    throw new Error(`${flag} must be ${what}, got '${value}'`);
  }
  return n;
}

/** A comma-separated list of finite numbers; empty entries are dropped (an empty list is allowed). */
export function numberList(value: string, flag: string): number[] {
  const xs = value.split(',').filter((s) => s.trim() !== '').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isFinite(x))) throw new Error(`${flag} must be a comma-separated list of numbers, got '${value}'`);
  return xs;
}
