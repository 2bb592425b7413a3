/**
 * Document/query vectors as JSONL, one object per line (Anserini / Seismic style):
 *   {"id": "doc1", "vector": {"token": weight, ...}}
 * Tokens are vocabulary strings; a vocab array (column id -> token) maps them to CSR columns and back.
 */
import * as fs from 'fs';

import { readLines } from '../data/lines';
import { writeFileAtomic } from '../io';
import { type Csr, csrFromRows, validateCsr } from './csr';
import { concatCsr } from './csr-file';
import { shortestFloat32 } from './float32';
import { tokenToId } from './vocab';

export interface SkippedLine {
  line: number;
  reason: string;
}

export interface JsonlReadOptions {
  /** Rows per yielded batch (default 4096). */
  batchSize?: number;
  /** 'fail' (default): the first bad line throws, naming its line number. 'skip': bad lines are left out and
   *  reported in `skipped` of the batch that follows them. */
  onError?: 'fail' | 'skip';
  /** Keys of "vector": vocabulary token strings (default) or decimal column ids. */
  keys?: 'token' | 'id';
  /**
   * The exporters' reading (`l0sparse export`, `opensearch ingest`), which counts what it leaves out instead
   * of refusing it: keys outside the vocabulary are dropped and counted here; weights pass through as given
   * (non-numbers as NaN, negatives kept) for the exporters to count and drop; "_id" stands in for "id", ids
   * may be numbers, and an id may repeat. Without it (the default) every such line is a bad line.
   */
  lenient?: JsonlReadStats;
}

/** What a lenient read left out (see JsonlReadOptions.lenient). */
export interface JsonlReadStats {
  docs: number;
  /** Keys that are not in the vocabulary (token keys) or not a valid id (id keys), left out. */
  unknownKeys: number;
  /** First few unknown keys, to show the user. */
  unknownExamples: string[];
}

export function newJsonlReadStats(): JsonlReadStats {
  return { docs: 0, unknownKeys: 0, unknownExamples: [] };
}

export interface JsonlBatch {
  csr: Csr;
  ids: string[];
  /** Lines skipped since the previous batch (only with onError 'skip'). */
  skipped: SkippedLine[];
}

export class JsonlVectorError extends Error {
  override name = 'JsonlVectorError';
}

/** Parses one line; throws a plain Error with the reason. Strict: weights must be finite and >= 0 (zeros dropped). */
function parseLine(text: string, columnOf: (key: string) => number | undefined, numCols: number, lenient: JsonlReadStats | undefined):
  { id: string; row: Map<number, number> } {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Error(`invalid JSON (${(e as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('expected an object {"id", "vector"}');
  const rec = obj as { id?: unknown; _id?: unknown; vector?: unknown };
  const row = new Map<number, number>();
  if (lenient) {
    const id = rec.id ?? rec._id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new Error('missing "id"');
    if (typeof rec.vector !== 'object' || rec.vector === null) throw new Error('missing "vector" object');
    for (const [key, raw] of Object.entries(rec.vector as Record<string, unknown>)) {
      const col = columnOf(key);
      if (col === undefined || col >= numCols) {
        lenient.unknownKeys++;
        if (lenient.unknownExamples.length < 5) lenient.unknownExamples.push(key);
        continue;
      }
      // Non-numbers become NaN and are dropped (and counted) by the exporters, not here.
      row.set(col, typeof raw === 'number' ? raw : Number(raw));
    }
    return { id: String(id), row };
  }
  const { id, vector } = rec;
  if (typeof id !== 'string' || id.length === 0) throw new Error('"id" must be a non-empty string');
  if (typeof vector !== 'object' || vector === null || Array.isArray(vector)) throw new Error('"vector" must be an object {token: weight}');
  for (const [token, weight] of Object.entries(vector as Record<string, unknown>)) {
    const col = columnOf(token);
    if (col === undefined || col >= numCols) throw new Error(`token '${token}' is not in the vocabulary`);
    if (typeof weight !== 'number' || !Number.isFinite(Math.fround(weight)) || weight < 0)
      throw new Error(`weight of '${token}' must be a number >= 0 that fits a float32`);
    if (weight > 0) row.set(col, weight);
  }
  return { id, row };
}

/**
 * Streams a JSONL vector file as CSR batches (columns = vocabulary ids). Duplicate ids count as bad lines
 * unless the read is lenient. The one JSONL vector reader: `index`, `search`, `export`, `opensearch ingest`.
 */
export async function* readJsonlVectors(path: string, vocab: readonly string[], options: JsonlReadOptions = {}):
  AsyncGenerator<JsonlBatch> {
  const { batchSize = 4096, onError = 'fail', keys = 'token', lenient } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  const tokenIds = keys === 'token' ? tokenToId(vocab) : undefined;
  const columnOf = tokenIds ? (key: string) => tokenIds.get(key) : (key: string) => (/^\d+$/.test(key) ? Number(key) : undefined);
  const seen = new Set<string>();
  let rows: Map<number, number>[] = [];
  let ids: string[] = [];
  let skipped: SkippedLine[] = [];
  for await (const { text, line: lineNo } of readLines(path)) {
    if (text.trim() === '') continue;
    try {
      const { id, row } = parseLine(text, columnOf, vocab.length, lenient);
      if (!lenient) {
        if (seen.has(id)) throw new Error(`duplicate id '${id}'`);
        seen.add(id);
      } else {
        lenient.docs++;
      }
      rows.push(row);
      ids.push(id);
    } catch (e) {
      const reason = (e as Error).message;
      if (onError === 'fail') throw new JsonlVectorError(`${path}:${lineNo}: ${reason}`);
      skipped.push({ line: lineNo, reason });
    }
    if (rows.length >= batchSize) {
      yield { csr: csrFromRows(rows, vocab.length), ids, skipped };
      rows = [];
      ids = [];
      skipped = [];
    }
  }
  if (rows.length > 0 || skipped.length > 0) yield { csr: csrFromRows(rows, vocab.length), ids, skipped };
}

/** Reads the whole file into one batch. */
export async function readJsonlVectorsAll(path: string, vocab: readonly string[], options: Omit<JsonlReadOptions, 'batchSize'> = {}):
  Promise<JsonlBatch> {
  const batches: JsonlBatch[] = [];
  for await (const b of readJsonlVectors(path, vocab, options)) batches.push(b);
  return { ...concatCsr(batches, vocab.length), skipped: batches.flatMap((b) => b.skipped) };
}

/** One JSONL line per row. Weights are written as the shortest decimal that reads back as the same float32. */
export function jsonlVectorLines(csr: Csr, ids: readonly string[], vocab: readonly string[]): string[] {
  validateCsr(csr, 'jsonl vectors');
  const rows = csr.indptr.length - 1;
  if (ids.length !== rows) throw new RangeError(`${ids.length} ids for ${rows} rows`);
  if (vocab.length < csr.numCols) throw new RangeError(`the vocabulary has ${vocab.length} tokens but the CSR has ${csr.numCols} columns`);
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const vector: Record<string, number> = {};
    for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) vector[vocab[csr.indices[j]]] = shortestFloat32(csr.values[j]);
    out.push(JSON.stringify({ id: ids[r], vector }));
  }
  return out;
}

/** Writes a whole JSONL vector file atomically (temp file + fsync + rename). */
export function writeJsonlVectors(path: string, csr: Csr, ids: readonly string[], vocab: readonly string[]): void {
  const lines = jsonlVectorLines(csr, ids, vocab);
  writeFileAtomic(path, lines.length ? lines.join('\n') + '\n' : '');
}

/** Appending writer for streams of batches (the encoder's JSONL output). */
export class JsonlVectorWriter {
  private readonly fd: number;
  constructor(path: string, private readonly vocab: readonly string[], options: { append?: boolean } = {}) {
    this.fd = fs.openSync(path, options.append ? 'a' : 'w');
  }
  append(csr: Csr, ids: readonly string[]): void {
    const lines = jsonlVectorLines(csr, ids, this.vocab);
    if (lines.length) fs.writeSync(this.fd, lines.join('\n') + '\n');
  }
  close(): void {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}
