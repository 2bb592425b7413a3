/**
 * Document or query vectors from either file format l0sparse writes, told apart by the binary CSR magic
 * (csr-file.ts): the binary CSR file (encoder output, columns = vocab ids) or JSONL
 * {"id","vector":{token: weight}} (jsonl-vectors.ts) mapped through a vocabulary (vocab.ts).
 */
import * as fs from 'fs';

import type { Csr } from './csr';
import { type CsrBatch, csrFileInfo, isCsrFile, readCsrFile, readCsrFileAll } from './csr-file';
import { type JsonlReadOptions, type JsonlReadStats, readJsonlVectors, readJsonlVectorsAll, type SkippedLine } from './jsonl-vectors';
import { readVocabFile } from './vocab';

export interface VectorFile {
  format: 'csr' | 'jsonl';
  csr: Csr;
  ids: string[];
  /** JSONL lines left out under onBadLine 'skip'. */
  skipped: SkippedLine[];
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

/** Number of documents, cheaply: record headers of a CSR file, or lines of a JSONL file. */
export async function countDocs(file: string): Promise<number> {
  if (isCsrFile(file)) return csrFileInfo(file).rows;
  let n = 0;
  for await (const chunk of fs.createReadStream(file)) for (const b of chunk as Buffer) if (b === 10) n++;
  return n;
}

/**
 * The exporters' input (`l0sparse export`, `opensearch ingest`): either file, read leniently (see
 * JsonlReadOptions.lenient; `stats` fills as it goes). `vocab` (already read) is needed for JSONL only.
 */
export async function* openDocVectors(file: string, opts: { keys: 'token' | 'id'; batchSize: number; vocab?: readonly string[] },
  stats: JsonlReadStats): AsyncGenerator<CsrBatch> {
  if (isCsrFile(file)) {
    for (const batch of readCsrFile(file)) {
      if (opts.vocab && batch.csr.numCols > opts.vocab.length)
        throw new Error(`${file} has ${batch.csr.numCols} columns but the vocabulary only ${opts.vocab.length} tokens`);
      stats.docs += batch.ids.length;
      yield batch;
    }
    return;
  }
  if (!opts.vocab) throw new Error(`${file} is JSONL: --vocab is needed to map its keys to vocabulary ids`);
  const read: JsonlReadOptions = { keys: opts.keys, batchSize: opts.batchSize, lenient: stats };
  for await (const { ids, csr } of readJsonlVectors(file, opts.vocab, read)) yield { ids, csr };
}
