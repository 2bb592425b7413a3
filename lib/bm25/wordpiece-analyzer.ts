import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import type { BatchAnalyzer } from './bm25-index';

/**
 * BM25 over WordPiece token ids from the project's tokenizer (no special tokens, no truncation, no
 * stemming or stop words: the tokenizer's lower-casing and splitting are the whole analysis).
 */
export function wordPieceAnalyzer(tokenizer: TextTokenizer): BatchAnalyzer {
  return { analyzeBatch: (texts) => tokenizer.encodeQueries(texts, { allowEmpty: true }) };
}
