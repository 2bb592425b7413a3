/**
 * Word splitting modelled on Lucene's StandardTokenizer, which follows the Unicode word-break rules
 * (UAX #29): letters and digits run together ("p53", "h2o"), '.' and apostrophes join letters to
 * letters and digits to digits ("u.s", "don't", "3.14"), ',' and ';' join digits ("1,000"), '_' joins
 * anything, combining marks stay with their base, hyphens and other punctuation split, and each Han or
 * Hiragana character is a token of its own. Tokens longer than 255 UTF-16 units are cut into pieces
 * of that length (Lucene's default maxTokenLength).
 */

const enum CharClass { Other, Letter, Digit, MidLetter, MidNumLet, MidNum, ExtendNumLet, Extend, Katakana, Ideograph }

const MAX_TOKEN_LENGTH = 255;

const MID_LETTER = new Set([0x3a, 0xb7, 0x387, 0x5f4, 0x2027, 0xfe13, 0xfe55, 0xff1a]);
const MID_NUM_LET = new Set([0x27, 0x2e, 0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e]);
const MID_NUM = new Set([0x2c, 0x3b, 0x37e, 0x589, 0x60c, 0x60d, 0x66c, 0x7f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54, 0xff0c, 0xff1b]);

const IDEOGRAPH = /[\p{Script=Han}\p{Script=Hiragana}]/u;
const KATAKANA = /\p{Script=Katakana}/u;
const LETTER = /[\p{L}\p{Nl}]/u;
const DIGIT = /\p{Nd}/u;
const EXTEND = /[\p{M}\p{Cf}]/u;
const CONNECTOR = /\p{Pc}/u;

const asciiClasses: CharClass[] = [];
for (let c = 0; c < 128; c++) asciiClasses.push(classifySlow(c));
const classCache = new Map<number, CharClass>();

function classifySlow(cp: number): CharClass {
  if (MID_LETTER.has(cp)) return CharClass.MidLetter;
  if (MID_NUM_LET.has(cp)) return CharClass.MidNumLet;
  if (MID_NUM.has(cp)) return CharClass.MidNum;
  const ch = String.fromCodePoint(cp);
  if (DIGIT.test(ch)) return CharClass.Digit;
  if (IDEOGRAPH.test(ch)) return CharClass.Ideograph;
  if (KATAKANA.test(ch)) return CharClass.Katakana;
  if (LETTER.test(ch)) return CharClass.Letter;
  if (EXTEND.test(ch)) return CharClass.Extend;
  if (CONNECTOR.test(ch)) return CharClass.ExtendNumLet;
  return CharClass.Other;
}

function classify(cp: number): CharClass {
  if (cp < 128) return asciiClasses[cp];
  let c = classCache.get(cp);
  if (c === undefined) classCache.set(cp, (c = classifySlow(cp)));
  return c;
}

const width = (cp: number) => (cp > 0xffff ? 2 : 1);

/** Index just past any combining marks / format characters starting at i (rule WB4). */
function skipExtend(text: string, i: number): number {
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    if (classify(cp) !== CharClass.Extend) break;
    i += width(cp);
  }
  return i;
}

/** Whether a token of class `last` continues through `next` (rules WB5, WB8-10, WB13, WB13a/b). */
function joins(last: CharClass, next: CharClass): boolean {
  switch (next) {
    case CharClass.Letter:
    case CharClass.Digit:
      return last === CharClass.Letter || last === CharClass.Digit || last === CharClass.ExtendNumLet;
    case CharClass.Katakana:
      return last === CharClass.Katakana || last === CharClass.ExtendNumLet;
    case CharClass.ExtendNumLet:
      return last !== CharClass.Other;
    default:
      return false;
  }
}

export function standardTokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const cls = classify(cp);
    if (cls === CharClass.Ideograph) {
      const end = skipExtend(text, i + width(cp));
      tokens.push(text.slice(i, end));
      i = end;
      continue;
    }
    if (cls !== CharClass.Letter && cls !== CharClass.Digit && cls !== CharClass.Katakana && cls !== CharClass.ExtendNumLet) {
      i += width(cp);
      continue;
    }
    let last: CharClass = cls;
    let hasWordChar = cls !== CharClass.ExtendNumLet;
    let j = skipExtend(text, i + width(cp));
    while (j < text.length) {
      const nextCp = text.codePointAt(j)!;
      const next = classify(nextCp);
      if (joins(last, next)) {
        last = next;
        hasWordChar ||= next !== CharClass.ExtendNumLet;
        j = skipExtend(text, j + width(nextCp));
        continue;
      }
      // Letter (.|'|:) Letter and Digit (.|'|,|;) Digit stay together (WB6/7, WB11/12).
      const isMid = next === CharClass.MidLetter || next === CharClass.MidNumLet || next === CharClass.MidNum;
      if (!isMid) break;
      const after = skipExtend(text, j + width(nextCp));
      if (after >= text.length) break;
      const afterClass = classify(text.codePointAt(after)!);
      const letterJoin = last === CharClass.Letter && next !== CharClass.MidNum && afterClass === CharClass.Letter;
      const digitJoin = last === CharClass.Digit && next !== CharClass.MidLetter && afterClass === CharClass.Digit;
      if (!letterJoin && !digitJoin) break;
      j = after;
    }
    if (hasWordChar) {
      for (let start = i; start < j; start += MAX_TOKEN_LENGTH) tokens.push(text.slice(start, Math.min(j, start + MAX_TOKEN_LENGTH)));
    }
    i = j;
  }
  return tokens;
}
