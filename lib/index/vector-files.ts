/** Reads document or query vectors from either file format, told apart by the binary CSR magic. */
import * as fs from 'fs';

import type { Csr } from '../sparse/csr';
import { csrFileInfo, readCsrFile, readCsrFileAll } from '../sparse/csr-file';
import { readJsonlVectors, readJsonlVectorsAll, type SkippedLine } from '../sparse/jsonl-vectors';
import { readVocabFile } from '../sparse/vocab';

export interface VectorFile {
  format: 'csr' | 'jsonl';
  csr: Csr;
  ids: string[];
  /** JSONL lines left out under onBadLine 'skip'. */
  skipped: SkippedLine[];
}

export function isCsrFile(path: string): boolean {
  const fd = fs.openSync(path, 'r');
  try {
    const magic = Buffer.alloc(8);
    return fs.readSync(fd, magic, 0, 8, 0) === 8 && magic.toString('latin1') === 'L0SPCSR\0';
  } finally {
    fs.closeSync(fd);
  }
}

/** A binary CSR file, or JSONL {"id","vector":{token: weight}} mapped through vocab.txt (required then). */
export async function readVectorFile(path: string, options: { vocab?: string; onBadLine?: 'fail' | 'skip' } = {}): Promise<VectorFile> {
  if (!fs.existsSync(path)) throw new Error(`${path}: no such file`);
  if (isCsrFile(path)) {
    const { csr, ids } = readCsrFileAll(path);
    return { format: 'csr', csr, ids, skipped: [] };
  }
  if (!options.vocab) throw new Error(`${path} is not a binary CSR file; reading it as JSONL vectors needs --vocab <vocab.txt>`);
  const vocab = readVocabFile(options.vocab);
  const { csr, ids, skipped } = await readJsonlVectorsAll(path, vocab, { onError: options.onBadLine ?? 'fail' });
  return { format: 'jsonl', csr, ids, skipped };
}

/** The same files streamed batch by batch (a CSR record, or `batchSize` JSONL lines), for corpora that
 *  should not be held twice in memory. numCols is known before the first batch. */
export async function streamVectorFile(path: string, options: { vocab?: string; onBadLine?: 'fail' | 'skip'; batchSize?: number } = {}):
  Promise<{ format: 'csr' | 'jsonl'; numCols: number; batches: AsyncGenerator<{ csr: Csr; ids: string[]; skipped: SkippedLine[] }> }> {
  if (!fs.existsSync(path)) throw new Error(`${path}: no such file`);
  if (isCsrFile(path)) {
    const { numCols } = csrFileInfo(path);
    return {
      format: 'csr', numCols,
      batches: (async function* () { for (const b of readCsrFile(path)) yield { ...b, skipped: [] }; })(),
    };
  }
  if (!options.vocab) throw new Error(`${path} is not a binary CSR file; reading it as JSONL vectors needs --vocab <vocab.txt>`);
  const vocab = readVocabFile(options.vocab);
  return {
    format: 'jsonl', numCols: vocab.length,
    batches: readJsonlVectors(path, vocab, { onError: options.onBadLine ?? 'fail', batchSize: options.batchSize ?? 8192 }),
  };
}
