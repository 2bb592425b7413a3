import * as fs from 'fs';
import * as path from 'path';

import type { Command } from 'commander';

import { beirPaths, documentText, readBeirCorpus } from '../../data/beir';
import { readLines } from '../../data/lines';
import { checkUnseenIdf, computeIdf } from '../../idf/compute-idf';
import { TextTokenizer } from '../../tokenizer/text-tokenizer';

interface IdfCommandOptions {
  data: string;
  tokenizer: string;
  out: string;
  unseen: string;
  progress: boolean;
}

/** Non-blank lines of corpus.jsonl: the document count for the progress bar, read before the real pass. */
async function countDocuments(file: string): Promise<number> {
  let n = 0;
  for await (const { text } of readLines(file)) if (text.trim() !== '') n++;
  return n;
}

/** `l0sparse idf`: BM25 IDF of WordPiece tokens over a BEIR corpus (title + " " + text), written as idf.json. */
export function register(program: Command): void {
  program.command('idf')
    .description('compute idf.json (BM25 IDF of WordPiece tokens: ln(1 + (N - df + 0.5)/(df + 0.5))) from a BEIR corpus')
    .requiredOption('--data <dir>', 'BEIR dataset folder with corpus.jsonl (or the corpus.jsonl file itself)')
    .requiredOption('--tokenizer <file>', 'tokenizer.json, vocab.txt (BERT uncased), or a model dir holding one')
    .requiredOption('--out <file>', 'idf.json to write (atomically)')
    .option('--unseen <default-1|max-idf>', 'tokens that occur in no document: default-1 leaves them out, so queries weigh them 1.0 ' +
      '(as the authors\' get_idf.py); max-idf writes the formula\'s df = 0 weight ln(2N + 2), the largest of the table', 'default-1')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: IdfCommandOptions) => {
      const unseen = checkUnseenIdf(opts.unseen, '--unseen');
      const corpus = fs.existsSync(opts.data) && fs.statSync(opts.data).isDirectory() ? beirPaths(opts.data, 'test').corpus : opts.data;
      if (!fs.existsSync(corpus)) throw new Error(`corpus not found: ${corpus}`);
      const tokenizer = fs.existsSync(opts.tokenizer) && fs.statSync(opts.tokenizer).isDirectory()
        ? TextTokenizer.fromDir(opts.tokenizer) : TextTokenizer.fromFile(opts.tokenizer);
      const total = opts.progress ? await countDocuments(corpus) : undefined;
      async function* texts(): AsyncGenerator<string> {
        for await (const doc of readBeirCorpus(corpus)) yield documentText(doc);
      }
      const idf = await computeIdf(texts(), tokenizer, { total, progress: opts.progress, unseen });
      fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
      idf.save(opts.out);
      const note = unseen === 'default-1' ? 'tokens in no document are left out and weigh 1.0' : 'tokens in no document weigh ln(2N + 2)';
      process.stderr.write(`l0sparse: wrote ${idf.size} token weights to ${opts.out} (${note})\n`);
    });
}
