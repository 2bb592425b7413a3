import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';

/** A 12-token BERT vocabulary, so IDF and query tests can be computed by hand. Ids are the line numbers. */
export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'dog', 'sat', 'on', 'mat', '##s'];

export function withTinyTokenizer(): { tokenizer: TextTokenizer; dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-tiny-'));
  fs.writeFileSync(path.join(dir, 'vocab.txt'), TINY_VOCAB.join('\n') + '\n');
  return { tokenizer: TextTokenizer.fromFile(path.join(dir, 'vocab.txt')), dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
