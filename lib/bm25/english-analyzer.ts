import { stemmer } from 'porter-stemmer';

import { standardTokenize } from './standard-tokenizer';

/**
 * The analysis Anserini applies by default (DefaultEnglishAnalyzer): StandardTokenizer, English
 * possessive removal, lower-casing, Lucene's English stop words, Porter stemming. The porter-stemmer
 * package reproduces Martin Porter's reference output on his 23,532-word vocabulary, which is also what
 * Lucene's PorterStemFilter implements.
 */

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET. */
export const LUCENE_ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of',
  'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
]);

/** EnglishPossessiveFilter: a trailing 's (straight, curly or full-width apostrophe) is dropped. */
export function removePossessive(token: string): string {
  const n = token.length;
  if (n >= 2 && (token[n - 1] === 's' || token[n - 1] === 'S')) {
    const apostrophe = token.charCodeAt(n - 2);
    if (apostrophe === 0x27 || apostrophe === 0x2019 || apostrophe === 0xff07) return token.slice(0, n - 2);
  }
  return token;
}

/**
 * Lower-cases code point by code point like Java's Character.toLowerCase: no context rules (a final
 * capital sigma becomes σ, not ς) and İ becomes plain i.
 */
export function lowerCase(token: string): string {
  if (/^[\x00-\x7f]*$/.test(token)) return token.toLowerCase();
  let out = '';
  for (const ch of token) {
    if (ch === '\u0130') { out += 'i'; continue; }
    const lower = ch.toLowerCase();
    out += [...lower].length === 1 ? lower : ch;
  }
  return out;
}

export interface EnglishAnalyzerOptions {
  stopWords?: ReadonlySet<string>;
  /** Apply Porter stemming (default true). */
  stem?: boolean;
}

/** Returns an analyzer function; it memoises stems because corpora repeat words heavily. */
export function englishAnalyzer(options: EnglishAnalyzerOptions = {}): (text: string) => string[] {
  const stopWords = options.stopWords ?? LUCENE_ENGLISH_STOP_WORDS;
  const stem = options.stem ?? true;
  const stems = new Map<string, string>();
  return (text: string) => {
    const terms: string[] = [];
    for (const raw of standardTokenize(text)) {
      const word = lowerCase(removePossessive(raw));
      if (word === '' || stopWords.has(word)) continue;
      if (!stem) { terms.push(word); continue; }
      let stemmed = stems.get(word);
      if (stemmed === undefined) stems.set(word, (stemmed = stemmer(word)));
      terms.push(stemmed);
    }
    return terms;
  };
}
