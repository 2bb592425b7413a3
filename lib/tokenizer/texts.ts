/**
 * Input validation shared by every text-consuming entry point, so a bad element is reported by its index
 * instead of surfacing as an obscure native tokenizer error.
 */
export interface TextCheckOptions {
  /** Accept "" and whitespace-only strings (e.g. the two empty Cranfield documents). Default false. */
  allowEmpty?: boolean;
}

export function checkTexts(texts: unknown, what = 'texts', opts: TextCheckOptions = {}): asserts texts is string[] {
  if (!Array.isArray(texts)) throw new TypeError(`${what} must be an array of strings, got ${typeof texts}`);
  if (texts.length === 0) throw new RangeError(`${what} is empty: nothing to encode`);
  for (let i = 0; i < texts.length; i++) {
    const t: unknown = texts[i];
    if (typeof t !== 'string') throw new TypeError(`${what}[${i}] is not a string (got ${t === null ? 'null' : typeof t})`);
    if (!opts.allowEmpty && t.trim().length === 0) {
      throw new RangeError(`${what}[${i}] is empty; drop it or pass allowEmpty: true to encode it as an empty text`);
    }
  }
}
