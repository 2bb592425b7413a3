export { Bm25Index, buildBm25Index, analyzeAll } from './bm25-index';
export type { Term, TextAnalyzer, BatchAnalyzer, Bm25Parameters, Bm25Document, BuildOptions } from './bm25-index';
export { englishAnalyzer, LUCENE_ENGLISH_STOP_WORDS, removePossessive, lowerCase } from './english-analyzer';
export type { EnglishAnalyzerOptions } from './english-analyzer';
export { standardTokenize } from './standard-tokenizer';
export { intToByte4, byte4ToInt, quantizedLength } from './lucene-norms';
export { wordPieceAnalyzer } from './wordpiece-analyzer';
export { bm25OnBeir } from './beir-bm25';
export type { BeirBm25Options, BeirBm25Result } from './beir-bm25';
