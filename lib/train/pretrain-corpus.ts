/**
 * Text for masked-LM pretraining, and its cut into model-sized windows. Sources: a BEIR folder (its
 * corpus.jsonl, title + text as the retriever sees documents), a .jsonl file ({"text", "title"?} per line, e.g.
 * a BEIR corpus.jsonl), or a text file (one document per non-empty line).
 */
import * as fs from 'fs';
import * as path from 'path';

import { isPlainObject, readJsonl, stringField } from '../data/jsonl';
import { readLines, requireFile } from '../data/lines';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';

export async function readPretrainTexts(sources: readonly string[]): Promise<string[]> {
  if (sources.length === 0) throw new RangeError('pretrain: no text source given');
  const texts: string[] = [];
  for (const source of sources) {
    const file = fs.existsSync(source) && fs.statSync(source).isDirectory() ? path.join(source, 'corpus.jsonl') : source;
    requireFile(file, 'pretraining text');
    const before = texts.length;
    if (/\.jsonl$/i.test(file)) {
      for await (const { record } of readJsonl(file, textRecord)) texts.push(record.text);
    } else {
      for await (const { text } of readLines(file)) if (text.trim() !== '') texts.push(text.trim());
    }
    if (texts.length === before) throw new Error(`${file}: no text to pretrain on`);
  }
  return texts.filter((t) => t !== '');
}

/** A JSONL record's text: BEIR's title + " " + text (the document text the retriever sees), or text alone. */
function textRecord(value: unknown): { text: string } | string {
  if (!isPlainObject(value)) return 'expected a JSON object';
  const title = stringField(value, 'title', false);
  const text = stringField(value, 'text', true);
  if (typeof text !== 'string') return text.error;
  if (typeof title !== 'string') return title.error;
  return { text: (title ? title + ' ' + text : text).trim() };
}

/**
 * Each document's tokens in windows of at most maxLength - 2, each wrapped in [CLS] … [SEP]: every token of the
 * text is seen (no truncation), and no window spans two documents. A tail shorter than `minTail` tokens is dropped
 * unless it is the document's only window.
 */
export async function pretrainWindows(texts: readonly string[], tokenizer: TextTokenizer, maxLength: number,
  minTail = 16): Promise<Int32Array[]> {
  const cls = tokenizer.specialId('[CLS]');
  const sep = tokenizer.specialId('[SEP]');
  if (cls === undefined || sep === undefined) throw new Error('pretrain: the tokenizer has no [CLS] / [SEP] token');
  const span = maxLength - 2;
  if (span < 1) throw new RangeError(`maxLength must be ≥ 3 for pretraining, got ${maxLength}`);
  const windows: Int32Array[] = [];
  const chunk = 512;
  for (let start = 0; start < texts.length; start += chunk) {
    const rows = await tokenizer.encodeQueries(texts.slice(start, start + chunk), { allowEmpty: true });
    for (const ids of rows) {
      for (let at = 0; at < ids.length; at += span) {
        const piece = ids.slice(at, at + span);
        if (at > 0 && piece.length < minTail) break;
        windows.push(Int32Array.from([cls, ...piece, sep]));
      }
    }
  }
  if (windows.length === 0) throw new Error('pretrain: the texts tokenize to nothing');
  return windows;
}
