/**
 * A BERT-uncased tokenizer assembled from a plain vocab.txt with the HF `tokenizers` building blocks, for
 * checkpoints that ship no tokenizer.json. The pieces match what transformers' BertTokenizerFast builds
 * for do_lower_case=True: BertNormalizer (clean text, CJK spacing, strip accents, lowercase),
 * BertPreTokenizer, WordPiece ('##', unk [UNK], 100 chars per word), "[CLS] $A [SEP]".
 */
import * as fs from 'fs';

import {
  Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing, wordPieceDecoder,
} from 'tokenizers';

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Reads vocab.txt (one token per line, id = line number) and checks what WordPiece needs from it. */
export function readVocabTxt(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read vocabulary ${file}: ${(e as Error).message}`);
  }
  const tokens = text.split('\n');
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
  if (tokens.length === 0) throw new Error(`${file} is empty: a vocab.txt has one token per line`);
  const seen = new Map<string, number>();
  tokens.forEach((raw, id) => {
    const token = raw.replace(/\r$/, '');
    tokens[id] = token;
    if (token.length === 0) throw new Error(`${file}: line ${id + 1} is empty`);
    const first = seen.get(token);
    if (first !== undefined) throw new Error(`${file}: token '${token}' appears twice (lines ${first + 1} and ${id + 1})`);
    seen.set(token, id);
  });
  for (const needed of ['[UNK]', '[CLS]', '[SEP]']) {
    if (!seen.has(needed)) throw new Error(`${file} has no ${needed} token, which a BERT tokenizer needs`);
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
