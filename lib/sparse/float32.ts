/** The package's one float32 spelling, for every text format that carries weights (JSONL vectors, exports). */

/**
 * Shortest decimal (up to 9 significant digits) whose float32 rounding equals x. Weights come from a
 * Float32Array, and printing the widened double would add digits that carry no information
 * (0.30000001192092896 for 0.3). `String(shortestFloat32(x))` is the text form.
 */
export function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}
