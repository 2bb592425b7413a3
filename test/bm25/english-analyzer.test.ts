import * as assert from 'assert';

import { LUCENE_ENGLISH_STOP_WORDS, englishAnalyzer, lowerCase, removePossessive } from '../../lib/bm25/english-analyzer';
import { standardTokenize } from '../../lib/bm25/standard-tokenizer';

describe('English analysis (Anserini default)', () => {
  it('splits words like StandardTokenizer (UAX #29)', () => {
    assert.deepStrictEqual(standardTokenize('IL-6 and p53, 1,000.5 cells; U.S.A. don\'t 3.14% β-amyloid a_b (x) 東京'),
      ['IL', '6', 'and', 'p53', '1,000.5', 'cells', 'U.S.A', 'don\'t', '3.14', 'β', 'amyloid', 'a_b', 'x', '東', '京']);
    assert.deepStrictEqual(standardTokenize('end. Next,word 12,ab'), ['end', 'Next', 'word', '12', 'ab']);
    assert.deepStrictEqual(standardTokenize('naïve cafe\u0301'), ['naïve', 'cafe\u0301']);
    assert.deepStrictEqual(standardTokenize('x'.repeat(300)).map((t) => t.length), [255, 45]);
  });

  it('removes possessives and lower-cases per code point', () => {
    assert.deepStrictEqual(['Mary\'s', 'cats\u2019s', 'its', 's', '\'s'].map(removePossessive), ['Mary', 'cats', 'its', 's', '']);
    assert.strictEqual(lowerCase('ΔΣ'), 'δσ');
    assert.strictEqual(lowerCase('İL'), 'il');
  });

  it('uses Lucene\'s 33 English stop words', () => {
    assert.strictEqual(LUCENE_ENGLISH_STOP_WORDS.size, 33);
  });

  it('stems with Porter (examples from Porter 1980)', () => {
    const analyze = englishAnalyzer();
    assert.deepStrictEqual(analyze('caresses ponies cats hopping happy relational conditional generalizations'),
      ['caress', 'poni', 'cat', 'hop', 'happi', 'relat', 'condit', 'gener']);
    assert.deepStrictEqual(analyze('The Patient\'s cells are NOT responding to the treatments'), ['patient', 'cell', 'respond', 'treatment']);
    assert.deepStrictEqual(englishAnalyzer({ stem: false })('Running dogs'), ['running', 'dogs']);
  });
});
