/**
 * A BERT-uncased tokenizer assembled from a plain vocab.txt with the HF `tokenizers` building blocks, for
 * checkpoints that ship no tokenizer.json. The pieces match what transformers' BertTokenizerFast builds
 * for do_lower_case=True: BertNormalizer (clean text, CJK spacing, strip accents, lowercase),
 * BertPreTokenizer, WordPiece ('##', unk [UNK], 100 chars per word), "[CLS] $A [SEP]".
 */
import {
  Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing, wordPieceDecoder,
} from 'tokenizers';

import { readVocabFile } from '../sparse/vocab';

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * Reads vocab.txt with the package's one vocabulary reader (lib/sparse/vocab.ts: no empty lines, no token
 * twice) and checks what WordPiece needs from it.
 */
export function readBertVocab(file: string): string[] {
  const tokens = readVocabFile(file);
  for (const needed of ['[UNK]', '[CLS]', '[SEP]']) {
    if (!tokens.includes(needed)) throw new Error(`${file} has no ${needed} token, which a BERT tokenizer needs`);
  }
  return tokens;
}

export function buildBertUncasedTokenizer(vocab: string[]): Tokenizer {
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => { ids[t] = i; });
  const model = WordPiece.init(ids, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tokenizer = new Tokenizer(model);
  tokenizer.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  tokenizer.setPreTokenizer(bertPreTokenizer());
  tokenizer.setPostProcessor(bertProcessing(['[SEP]', ids['[SEP]']], ['[CLS]', ids['[CLS]']]));
  tokenizer.setDecoder(wordPieceDecoder('##', true));
  // Special tokens must stay whole when they appear literally in text ("[MASK]"), as in BertTokenizerFast.
  tokenizer.addSpecialTokens(BERT_SPECIAL_TOKENS.filter((t) => t in ids));
  return tokenizer;
}
