/**
 * The tokenizer part of a saved model dir: tokenizer.json plus the tokenizer_config.json that
 * transformers' AutoTokenizer needs to pick the tokenizer class and the max length.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { withAtomicPath, writeFileAtomic } from '../io';

/** Reads <dir>/tokenizer_config.json when present (kept verbatim on save). */
export function readTokenizerConfig(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file} is not a valid tokenizer config: ${(e as Error).message}`);
  }
}

/** The max length a tokenizer config declares, when it is a real limit (transformers writes 1e30 for "none"). */
export function configuredMaxLength(config: Record<string, unknown> | undefined): number | undefined {
  const value = config?.model_max_length;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 1e6 ? value : undefined;
}

/**
 * A BertTokenizer config matching the normalizer in tokenizer.json: transformers rebuilds the normalizer
 * from do_lower_case / strip_accents / tokenize_chinese_chars, so they must agree with the file.
 */
function bertTokenizerConfig(tokenizerJson: { normalizer?: Record<string, unknown> | null }, tokenizer: TextTokenizer): Record<string, unknown> {
  const normalizer = tokenizerJson.normalizer ?? {};
  const config: Record<string, unknown> = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: normalizer.lowercase ?? true,
    strip_accents: normalizer.strip_accents ?? null,
    tokenize_chinese_chars: normalizer.handle_chinese_chars ?? true,
  };
  for (const [key, token] of [['cls_token', '[CLS]'], ['sep_token', '[SEP]'], ['pad_token', '[PAD]'], ['unk_token', '[UNK]'], ['mask_token', '[MASK]']]) {
    if (tokenizer.specialId(token) !== undefined) config[key] = token;
  }
  return config;
}

export interface TokenizerFilesOptions {
  /** Written as model_max_length. */
  maxLength: number;
  /** The loaded model's tokenizer_config.json, kept (with model_max_length updated) instead of a generated one. */
  baseConfig?: Record<string, unknown>;
}

export function writeTokenizerFiles(dir: string, tokenizer: TextTokenizer, opts: TokenizerFilesOptions): void {
  const jsonFile = path.join(dir, 'tokenizer.json');
  let tokenizerJson: { normalizer?: Record<string, unknown>; truncation?: unknown; padding?: unknown } = {};
  withAtomicPath(jsonFile, (tmp) => {
    tokenizer.saveTokenizerJson(tmp);
    // An encode running concurrently may have truncation switched on; the saved file must carry none.
    tokenizerJson = JSON.parse(fs.readFileSync(tmp, 'utf8')) as typeof tokenizerJson;
    if (tokenizerJson.truncation != null || tokenizerJson.padding != null) {
      fs.writeFileSync(tmp, JSON.stringify({ ...tokenizerJson, truncation: null, padding: null }));
    }
  });
  const config = opts.baseConfig ? { ...opts.baseConfig } : bertTokenizerConfig(tokenizerJson, tokenizer);
  config.model_max_length = opts.maxLength;
  writeFileAtomic(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
}
