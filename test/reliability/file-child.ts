/**
 * Child process of bad-files.test.ts: loads each file with the reader of its kind and writes one JSON line per
 * file ({file, outcome: 'ok' | 'error', message}); a crash shows up as a missing line and a bad exit status.
 * Usage: node file-child.js <kind> <file>...
 */
import * as fs from 'fs';

import { readBeirCorpus } from '../../lib/data/beir';
import { NativeMlmModel } from '../../lib/model/native-model';
import { readModelDir } from '../../lib/model/model-dir';
import { IdfTable } from '../../lib/idf/idf-table';
import { SparseIndex } from '../../lib/index/sparse-index';
import { readCsrFileAll } from '../../lib/sparse/csr-file';
import { readJsonlVectorsAll } from '../../lib/sparse/jsonl-vectors';
import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';
import { loadTrainConfig } from '../../lib/train/config';

const VOCAB = ['a', 'b', 'c', 'd'];

const readers: Record<string, (file: string) => Promise<unknown> | unknown> = {
  model: async (dir) => { const m = await NativeMlmModel.load(dir); m.dispose(); },
  modelDir: (dir) => readModelDir(dir),
  index: (file) => SparseIndex.load(file, { verify: 'full' }),
  // Opened lazily, the damage must be met by the searches instead: one query per term, both algorithms.
  indexLazy: async (file) => {
    const index = await SparseIndex.load(file);
    const n = index.numCols;
    const queries = { indptr: Int32Array.from({ length: n + 1 }, (_, i) => i), indices: Int32Array.from({ length: n }, (_, i) => i),
      values: new Float32Array(n).fill(1), numCols: n };
    for (const algorithm of ['maxscore', 'exhaustive'] as const) (await index.search(queries, 3, { algorithm })).ids();
  },
  csr: (file) => readCsrFileAll(file),
  idf: (file) => IdfTable.load(file),
  tokenizer: (file) => TextTokenizer.fromFile(file),
  trainConfig: (file) => loadTrainConfig(file),
  jsonlVectors: (file) => readJsonlVectorsAll(file, VOCAB),
  beirCorpus: async (file) => { let n = 0; for await (const _ of readBeirCorpus(file, { warn: () => {} })) n++; return n; },
};

async function main(): Promise<void> {
  const [kind, ...files] = process.argv.slice(2);
  const read = readers[kind];
  if (!read) throw new Error(`unknown kind ${kind}`);
  for (const file of files) {
    try {
      await read(file);
      fs.writeSync(1, JSON.stringify({ file, outcome: 'ok' }) + '\n');
    } catch (e) {
      const err = e as Error;
      fs.writeSync(1, JSON.stringify({ file, outcome: 'error', isError: e instanceof Error, message: err?.message ?? String(e) }) + '\n');
    }
  }
}

main().catch((e: Error) => { process.stderr.write(`${e.stack}\n`); process.exit(3); });
