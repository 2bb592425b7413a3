/**
 * Input side of the CLI exporters: doc-vector JSONL ({"id", "vector": {key: weight}}, the layout the README's
 * "Formats" table names for l0sparse's own output) and vocabularies (vocab.txt or tokenizer.json), read as
 * a stream of CSR batches so a corpus never has to fit in memory.
 */
import * as fs from 'fs';
import * as readline from 'readline';

import { csrFromRows } from '../sparse/csr';
import { csrFileInfo, readCsrFile } from '../sparse/csr-file';
import type { DocVectorBatch } from './doc-vectors';

/** id -> token string from a BERT vocab.txt (line i = id i) or a tokenizer.json (model.vocab map). */
export function readVocabulary(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    const json = JSON.parse(text) as { model?: { vocab?: Record<string, number> | [string, number][] }; added_tokens?: { id: number; content: string }[] };
    const vocab = json.model?.vocab;
    if (!vocab || Array.isArray(vocab)) throw new Error(`${file}: expected a WordPiece/WordLevel tokenizer.json with a model.vocab map`);
    const out: string[] = [];
    for (const [token, id] of Object.entries(vocab)) out[id] = token;
    for (const t of json.added_tokens ?? []) out[t.id] ??= t.content;
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) throw new Error(`${file}: vocabulary has no token for id ${i}`);
    return out;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

export interface ReadVectorsOptions {
  /** Keys of "vector" are token strings (mapped through `vocab`) or decimal vocab ids. */
  keys: 'token' | 'id';
  vocab: readonly string[];
  batchSize: number;
}

export interface ReadVectorsStats {
  docs: number;
  /** Keys that are not in the vocabulary (token mode) or not a valid id (id mode), left out. */
  unknownKeys: number;
  /** First few unknown keys, to show the user. */
  unknownExamples: string[];
}

/** Streams CSR batches from a doc-vector JSONL file; `stats` fills as it goes. */
export async function* readDocVectorJsonl(file: string, opts: ReadVectorsOptions, stats: ReadVectorsStats): AsyncGenerator<DocVectorBatch> {
  const tokenToId = new Map<string, number>();
  if (opts.keys === 'token') opts.vocab.forEach((t, i) => { if (!tokenToId.has(t)) tokenToId.set(t, i); });
  const numCols = opts.vocab.length;
  let ids: string[] = [];
  let rows: Map<number, number>[] = [];
  let lineNo = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let rec: { id?: unknown; _id?: unknown; vector?: Record<string, unknown> };
    try { rec = JSON.parse(line); } catch (e) { throw new Error(`${file}:${lineNo}: not JSON (${(e as Error).message})`); }
    const id = rec.id ?? rec._id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new Error(`${file}:${lineNo}: missing "id"`);
    if (typeof rec.vector !== 'object' || rec.vector === null) throw new Error(`${file}:${lineNo}: missing "vector" object`);
    const row = new Map<number, number>();
    for (const [key, raw] of Object.entries(rec.vector)) {
      const col = opts.keys === 'token' ? tokenToId.get(key) : (/^\d+$/.test(key) ? Number(key) : undefined);
      if (col === undefined || col >= numCols) {
        stats.unknownKeys++;
        if (stats.unknownExamples.length < 5) stats.unknownExamples.push(key);
        continue;
      }
      // Non-numbers become NaN and are dropped (and counted) by the exporters, not here.
      row.set(col, typeof raw === 'number' ? raw : Number(raw));
    }
    ids.push(String(id));
    rows.push(row);
    stats.docs++;
    if (rows.length === opts.batchSize) {
      yield { ids, csr: csrFromRows(rows, numCols) };
      ids = [];
      rows = [];
    }
  }
  if (rows.length) yield { ids, csr: csrFromRows(rows, numCols) };
}

export function newReadStats(): ReadVectorsStats {
  return { docs: 0, unknownKeys: 0, unknownExamples: [] };
}

/** First bytes of lib/sparse/csr-file.ts's binary CSR file. */
const CSR_FILE_MAGIC = Buffer.from('L0SPCSR\0', 'latin1');

export function isCsrFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(CSR_FILE_MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(CSR_FILE_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

/** Number of documents, cheaply: record headers of a CSR file, or lines of a JSONL file. */
export async function countDocs(file: string): Promise<number> {
  if (isCsrFile(file)) return csrFileInfo(file).rows;
  let n = 0;
  for await (const chunk of fs.createReadStream(file)) for (const b of chunk as Buffer) if (b === 10) n++;
  return n;
}

/**
 * Doc vectors from either input l0sparse writes: the binary CSR file (encoder output, columns = vocab
 * ids, read record by record) or doc-vector JSONL. `vocab` is needed for JSONL only.
 */
export async function* openDocVectors(file: string, opts: Omit<ReadVectorsOptions, 'vocab'> & { vocab?: readonly string[] }, stats: ReadVectorsStats): AsyncGenerator<DocVectorBatch> {
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
  yield* readDocVectorJsonl(file, { ...opts, vocab: opts.vocab }, stats);
}
