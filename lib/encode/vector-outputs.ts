/**
 * The output files of a corpus encoding: a binary CSR file (lib/sparse/csr-file.ts) and/or JSONL
 * {"id", "vector": {token: weight}} lines. Batches are appended to both and fsynced before the caller
 * records them as committed; on resume both files are cut back to the committed bytes, so a crash between
 * the two appends (or before the progress record) leaves nothing behind that is counted twice.
 */
import * as fs from 'fs';

import { readLines } from '../data/lines';
import type { Csr } from '../sparse/csr';
import { CsrFileWriter } from '../sparse/csr-file';
import { jsonlVectorLines } from '../sparse/jsonl-vectors';

export interface OutputPaths {
  /** Binary CSR file. */
  csr?: string;
  /** JSONL vector file. */
  jsonl?: string;
}

export interface CommittedBytes {
  csrBytes: number;
  jsonlBytes: number;
}

export class VectorOutputs {
  /** Bytes cut off the outputs on resume: batches written but never recorded as committed. */
  readonly truncated = { csr: 0, jsonl: 0 };

  private constructor(
    private readonly paths: OutputPaths,
    private readonly csr: CsrFileWriter | null,
    private readonly jsonlFd: number | null,
    private readonly vocab: readonly string[],
    /** Ids already in the outputs, when no CSR writer keeps them (JSONL-only runs). */
    private readonly jsonlIds: Set<string> | null,
    private bytes: CommittedBytes,
  ) {}

  /** New, empty outputs; existing files are replaced only with `overwrite`. */
  static create(paths: OutputPaths, vocab: readonly string[], overwrite: boolean): VectorOutputs {
    requireSomeOutput(paths);
    const csr = paths.csr ? CsrFileWriter.open(paths.csr, { numCols: vocab.length, mode: overwrite ? 'overwrite' : 'create' }) : null;
    let jsonlFd: number | null = null;
    try {
      if (paths.jsonl) {
        if (!overwrite && fs.existsSync(paths.jsonl)) throw new Error(`${paths.jsonl} exists (resume the run, or overwrite it)`);
        jsonlFd = fs.openSync(paths.jsonl, 'w');
      }
    } catch (e) {
      csr?.close();
      throw e;
    }
    const csrBytes = paths.csr ? fs.statSync(paths.csr).size : 0;
    return new VectorOutputs(paths, csr, jsonlFd, vocab, csr ? null : new Set(), { csrBytes, jsonlBytes: 0 });
  }

  /** Reopens outputs holding `docs` committed documents in `committed` bytes; cuts any longer tail. */
  static async resume(paths: OutputPaths, vocab: readonly string[], docs: number, committed: CommittedBytes): Promise<VectorOutputs> {
    requireSomeOutput(paths);
    let csr: CsrFileWriter | null = null;
    const truncated = { csr: 0, jsonl: 0 };
    if (paths.csr) {
      truncated.csr = cutToCommitted(paths.csr, committed.csrBytes, docs);
      csr = CsrFileWriter.open(paths.csr, { numCols: vocab.length, mode: 'resume' });
      if (csr.rows !== docs || csr.truncatedBytes !== 0) {
        csr.close();
        throw new Error(`${paths.csr}: its committed part holds ${csr.rows} complete documents but the progress record says ${docs} ` +
          '(the file was changed or damaged); start over with overwrite');
      }
    }
    let jsonlFd: number | null = null;
    let jsonlIds: Set<string> | null = null;
    try {
      if (paths.jsonl) {
        truncated.jsonl = cutToCommitted(paths.jsonl, committed.jsonlBytes, docs);
        const ids = await committedJsonlIds(paths.jsonl);
        if (ids.length !== docs) {
          throw new Error(`${paths.jsonl}: its committed part holds ${ids.length} lines but the progress record says ${docs} documents ` +
            '(the file was changed); start over with overwrite');
        }
        if (!csr) jsonlIds = new Set(ids);
        else for (const id of ids) if (!csr.has(id)) throw new Error(`${paths.jsonl} holds document '${id}' that ${paths.csr} lacks; start over with overwrite`);
        jsonlFd = fs.openSync(paths.jsonl, 'a');
      }
    } catch (e) {
      csr?.close();
      throw e;
    }
    const outputs = new VectorOutputs(paths, csr, jsonlFd, vocab, jsonlIds, { csrBytes: committed.csrBytes, jsonlBytes: committed.jsonlBytes });
    Object.assign(outputs.truncated, truncated);
    return outputs;
  }

  isWritten(id: string): boolean {
    return this.csr ? this.csr.has(id) : this.jsonlIds!.has(id);
  }

  get committedBytes(): CommittedBytes {
    return { ...this.bytes };
  }

  /** Appends one batch to every output and makes it durable (fsync) before returning. */
  append(vectors: Csr, ids: string[]): void {
    if (this.csr) {
      this.csr.append(vectors, ids);  // fsyncs
      this.bytes.csrBytes = fs.statSync(this.paths.csr!).size;
    } else {
      for (const id of ids) if (this.jsonlIds!.has(id)) throw new Error(`duplicate document id '${id}': it is already in ${this.paths.jsonl}`);
    }
    if (this.jsonlFd !== null) {
      const text = jsonlVectorLines(vectors, ids, this.vocab).map((line) => line + '\n').join('');
      const data = Buffer.from(text, 'utf8');
      let written = 0;
      while (written < data.length) written += fs.writeSync(this.jsonlFd, data, written, data.length - written);
      fs.fsyncSync(this.jsonlFd);
      this.bytes.jsonlBytes += data.length;
      if (this.jsonlIds) for (const id of ids) this.jsonlIds.add(id);
    }
  }

  close(): void {
    this.csr?.close();
    if (this.jsonlFd !== null) {
      fs.fsyncSync(this.jsonlFd);
      fs.closeSync(this.jsonlFd);
    }
  }
}

function requireSomeOutput(paths: OutputPaths): void {
  if (!paths.csr && !paths.jsonl) throw new RangeError('encodeCorpus needs an output: outputs.csr and/or outputs.jsonl');
}

/** Cuts `file` back to `bytes`; returns how many bytes were cut. A file shorter than its committed part is an error. */
function cutToCommitted(file: string, bytes: number, docs: number): number {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing but the progress record says ${docs} documents were committed to it; start over with overwrite`);
  const size = fs.statSync(file).size;
  if (size < bytes) throw new Error(`${file} has ${size} bytes but ${bytes} were committed (the file was changed); start over with overwrite`);
  if (size > bytes) fs.truncateSync(file, bytes);
  return size - bytes;
}

async function committedJsonlIds(file: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const { text, line } of readLines(file)) {
    let id: unknown;
    try {
      id = (JSON.parse(text) as { id?: unknown }).id;
    } catch {
      throw new Error(`${file}:${line}: the committed part is not valid JSONL; start over with overwrite`);
    }
    if (typeof id !== 'string') throw new Error(`${file}:${line}: the committed part has a line without a string "id"; start over with overwrite`);
    ids.push(id);
  }
  return ids;
}
