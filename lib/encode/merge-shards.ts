/**
 * Merges the complete shards of a sharded corpus encoding into the final outputs, in the order a
 * one-process run writes them: window by window (window w from shard w mod N), each window's batches as
 * that shard wrote them. The shards hold exactly the one-process batches (lib/encode/shard-layout.ts), so
 * the merged CSR and JSONL files are byte-identical to a one-process run's, and the final progress record
 * is the one that run would write (complete), so a later `--resume`, sharded or not, finds nothing to do.
 *
 * Nothing is trusted: every shard's record must be complete and of this run, its files exactly the
 * committed bytes; no document id may be in two shards (the error names it and both shards); the corpus is
 * read again and every document (minus skipped lines) must be in the shard that owns its window, in
 * order; a shard document that is not in the corpus is an error too. The outputs are written to temp files
 * and renamed into place, so a failed or killed merge leaves the previous outputs, and it can be rerun.
 */
import * as fs from 'fs';

import type { DataProblem } from '../data/errors';
import type { BadLinePolicy, JsonlReport } from '../data/jsonl';
import { readLines } from '../data/lines';
import { tempPathFor } from '../io';
import { CsrBatch, CsrFileWriter, csrFileInfo, readCsrFile } from '../sparse/csr-file';
import { corpusDocuments, documentWindows } from './corpus-input';
import { CommittedState, EncodeRunIdentity, ProgressRecord, emptyCommittedState, readProgressRecord, writeProgressRecord } from './progress-record';
import { ShardSpec, removeShards, shardIdentity, shardName, shardOutputPaths, shardProgressFile, windowOwner } from './shard-layout';
import { describeIncomplete, shardState } from './shard-wait';
import type { OutputPaths } from './vector-outputs';

export interface MergeShardsOptions {
  /** The final outputs (absolute paths); the shards are in `<first output>.shards/`. */
  outputs: OutputPaths;
  /** The final progress record. */
  progressFile: string;
  /** The identity a one-process run with these settings records; each shard's must match it. */
  identity: EncodeRunIdentity;
  /** Number of shards. */
  count: number;
  /** The bad-line policy the shards were encoded with ('fail' by default). */
  onBadLine?: BadLinePolicy;
  /** Keep the shard files after the merge. Default false: they are removed once the merged outputs and record are in place. */
  keepShards?: boolean;
}

export interface MergeShardsReport {
  outputs: { csr: string | null; jsonl: string | null; progress: string };
  shards: number;
  docs: number;
  batches: number;
  /** Corpus lines left out as malformed (the shards skipped the same ones). */
  skippedLines: DataProblem[];
  /** The final record's committed state (totals over the shards). */
  committed: CommittedState;
  shardsRemoved: boolean;
  seconds: number;
}

/** The id of a JSONL vector line: the writer puts it first, so only that string is parsed, not the whole vector. */
export function jsonlLineId(line: string): string {
  const prefix = '{"id":"';
  if (line.startsWith(prefix)) {
    for (let i = prefix.length; i < line.length; i++) {
      if (line[i] === '\\') { i++; continue; }
      if (line[i] === '"') return JSON.parse(line.slice(prefix.length - 1, i + 1)) as string;
    }
  }
  const id = (JSON.parse(line) as { id?: unknown }).id;
  if (typeof id !== 'string') throw new Error('a JSONL vector line without a string "id"');
  return id;
}

/** One shard's outputs, read front to back in step with the corpus. */
class ShardReader {
  private readonly batches: Generator<CsrBatch> | null;
  private readonly lines: AsyncGenerator<{ text: string }> | null;

  constructor(readonly name: string, readonly paths: OutputPaths) {
    this.batches = paths.csr ? readCsrFile(paths.csr) : null;
    this.lines = paths.jsonl ? readLines(paths.jsonl) : null;
  }

  nextBatch(): CsrBatch | null {
    const next = this.batches!.next();
    return next.done ? null : next.value;
  }

  async nextLine(): Promise<string | null> {
    const next = await this.lines!.next();
    return next.done ? null : next.value.text;
  }

  async close(): Promise<void> {
    this.batches?.return(undefined);
    await this.lines?.return(undefined);
  }
}

/** Document ids of a shard's outputs (the CSR file's, or the JSONL file's when there is no CSR). */
async function* shardIds(paths: OutputPaths): AsyncGenerator<string> {
  if (paths.csr) {
    for (const batch of readCsrFile(paths.csr)) yield* batch.ids;
    return;
  }
  for await (const { text } of readLines(paths.jsonl!)) yield jsonlLineId(text);
}

function fileSize(file: string): number {
  return fs.existsSync(file) ? fs.statSync(file).size : -1;
}

/** Sums the shards' committed states; the byte counts are set by the caller (the merged files'). */
function addCommitted(total: CommittedState, part: CommittedState): void {
  total.docs += part.docs;
  total.batches += part.batches;
  total.nnzTotal += part.nnzTotal;
  total.emptyVectors += part.emptyVectors;
  if (part.nnzMin !== null) total.nnzMin = total.nnzMin === null ? part.nnzMin : Math.min(total.nnzMin, part.nnzMin);
  if (part.nnzMax !== null) total.nnzMax = total.nnzMax === null ? part.nnzMax : Math.max(total.nnzMax, part.nnzMax);
}

/** Merges the shards into the final outputs; see the module comment. */
export async function mergeShards(corpusFile: string, opts: MergeShardsOptions): Promise<MergeShardsReport> {
  const started = process.hrtime.bigint();
  const { outputs, count, identity } = opts;
  if (!outputs.csr && !outputs.jsonl) throw new RangeError('mergeShards needs an output: outputs.csr and/or outputs.jsonl');
  const shards: ShardSpec[] = Array.from({ length: count }, (_, rank) => ({ rank, count }));

  // 1. Every shard complete, of this run, its files exactly what its record committed.
  const states = shards.map((shard) => shardState({ rank: shard.rank, progressFile: shardProgressFile(outputs, shard), identity: shardIdentity(identity, outputs, shard) }));
  if (!states.every((s) => s.complete)) throw new Error(`cannot merge the ${count} shards of ${outputs.csr ?? outputs.jsonl}: ${describeIncomplete(states)}`);
  const records: ProgressRecord[] = shards.map((shard) => readProgressRecord(shardProgressFile(outputs, shard)));
  const totals = emptyCommittedState();
  let numCols = 0;
  for (const shard of shards) {
    const own = shardOutputPaths(outputs, shard);
    const committed = records[shard.rank].committed;
    for (const [file, bytes] of [[own.csr, committed.csrBytes], [own.jsonl, committed.jsonlBytes]] as const) {
      if (file && fileSize(file) !== bytes) {
        throw new Error(`cannot merge: ${file} has ${fileSize(file)} bytes but its complete progress record says ${bytes} ` +
          '(the shard was changed); encode that shard again (--overwrite)');
      }
    }
    if (own.csr) {
      const cols = csrFileInfo(own.csr).numCols;
      if (numCols !== 0 && cols !== numCols) throw new Error(`cannot merge: ${own.csr} has ${cols} columns, the other shards ${numCols}`);
      numCols = cols;
    }
    addCommitted(totals, committed);
  }

  // 2. Which shard holds each id: a document in two shards (or twice in one) is an error that names it.
  const holder = new Map<string, number>();
  for (const shard of shards) {
    const own = shardOutputPaths(outputs, shard);
    let docs = 0;
    for await (const id of shardIds(own)) {
      const other = holder.get(id);
      if (other !== undefined) {
        throw new Error(other === shard.rank
          ? `cannot merge: document '${id}' is twice in shard ${shardName(shard)}`
          : `cannot merge: document '${id}' is in two shards, ${shardName({ rank: other, count })} and ${shardName(shard)}`);
      }
      holder.set(id, shard.rank);
      docs++;
    }
    const recorded = records[shard.rank].committed.docs;
    if (docs !== recorded) throw new Error(`cannot merge: ${own.csr ?? own.jsonl} holds ${docs} documents, its progress record says ${recorded}`);
  }

  // 3. The corpus again, window by window: each window's documents from the shard that owns it, in its order.
  const readers = shards.map((shard) => new ShardReader(shardName(shard), shardOutputPaths(outputs, shard)));
  const tmp = { csr: outputs.csr ? tempPathFor(outputs.csr) : null, jsonl: outputs.jsonl ? tempPathFor(outputs.jsonl) : null };
  let writer: CsrFileWriter | null = null;
  let jsonlFd: number | null = null;
  const corpusReport: JsonlReport = { file: corpusFile, records: 0, skipped: [] };
  try {
    // sync: false: the merged file is fsynced once when closed, before it is renamed into place.
    if (tmp.csr) writer = CsrFileWriter.open(tmp.csr, { numCols, mode: 'create', sync: false });
    if (tmp.jsonl) jsonlFd = fs.openSync(tmp.jsonl, 'wx');
    const docs = corpusDocuments(corpusFile, { onBadLine: opts.onBadLine ?? 'fail', warn: () => undefined }, corpusReport);
    let windowIndex = 0;
    for await (const window of documentWindows(docs, identity.windowSize)) {
      const owner = windowOwner(windowIndex, count);
      for (const doc of window) {
        const rank = holder.get(doc.id);
        if (rank === undefined) {
          throw new Error(`cannot merge: document '${doc.id}' of ${corpusFile} is in no shard (it belongs to ${shardName({ rank: owner, count })})`);
        }
        if (rank !== owner) {
          throw new Error(`cannot merge: document '${doc.id}' is in shard ${shardName({ rank, count })} but its window ${windowIndex} belongs to ` +
            `${shardName({ rank: owner, count })}: the shards were not made from this corpus with these settings`);
        }
        holder.delete(doc.id);
      }
      await copyWindow(readers[owner], new Set(window.map((d) => d.id)), writer, jsonlFd);
      windowIndex++;
    }
    // Every corpus document was found exactly once; what is left was in a shard but not in the corpus.
    const [extra] = holder.entries();
    if (extra) throw new Error(`cannot merge: document '${extra[0]}' in shard ${shardName({ rank: extra[1], count })} is not in ${corpusFile}`);
    writer?.close();
    writer = null;
    if (jsonlFd !== null) {
      fs.fsyncSync(jsonlFd);
      fs.closeSync(jsonlFd);
      jsonlFd = null;
    }
    // The outputs first, the record last: a crash in between leaves no record that claims a complete merge.
    if (tmp.csr) fs.renameSync(tmp.csr, outputs.csr!);
    if (tmp.jsonl) fs.renameSync(tmp.jsonl, outputs.jsonl!);
  } catch (e) {
    writer?.close();
    if (jsonlFd !== null) fs.closeSync(jsonlFd);
    for (const file of [tmp.csr, tmp.jsonl]) if (file) fs.rmSync(file, { force: true });
    throw e;
  } finally {
    for (const reader of readers) await reader.close();
  }
  totals.csrBytes = outputs.csr ? fs.statSync(outputs.csr).size : 0;
  totals.jsonlBytes = outputs.jsonl ? fs.statSync(outputs.jsonl).size : 0;
  writeProgressRecord(opts.progressFile, identity, totals, true);
  if (!opts.keepShards) removeShards(outputs, count);
  return {
    outputs: { csr: outputs.csr ?? null, jsonl: outputs.jsonl ?? null, progress: opts.progressFile }, shards: count, docs: totals.docs,
    batches: totals.batches, skippedLines: corpusReport.skipped, committed: totals, shardsRemoved: !opts.keepShards,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

/**
 * Copies one window's documents from its shard: whole batches (CSR records) until the window is covered,
 * and the same documents' JSONL lines. A batch with a document outside the window means the shard's order
 * is not the corpus's.
 */
async function copyWindow(reader: ShardReader, window: Set<string>, writer: CsrFileWriter | null, jsonlFd: number | null): Promise<void> {
  const lines: string[] = [];
  const outOfOrder = (id: string) => new Error(`cannot merge: shard ${reader.name} holds document '${id}' where the corpus has ` +
    'another window: the shard was not made from this corpus with these settings');
  let taken = 0;
  while (taken < window.size) {
    if (writer) {
      const batch = reader.nextBatch();
      if (!batch) throw new Error(`cannot merge: shard ${reader.name} ends before the corpus does`);
      for (const id of batch.ids) if (!window.has(id)) throw outOfOrder(id);
      writer.append(batch.csr, batch.ids);
      if (jsonlFd !== null) {
        for (const id of batch.ids) {
          const line = await reader.nextLine();
          if (line === null || jsonlLineId(line) !== id) throw new Error(`cannot merge: ${reader.paths.jsonl} does not hold the documents of ${reader.paths.csr} in the same order (at '${id}')`);
          lines.push(line);
        }
      }
      taken += batch.ids.length;
    } else {
      const line = await reader.nextLine();
      if (line === null) throw new Error(`cannot merge: shard ${reader.name} ends before the corpus does`);
      const id = jsonlLineId(line);
      if (!window.has(id)) throw outOfOrder(id);
      lines.push(line);
      taken++;
    }
  }
  if (jsonlFd !== null && lines.length > 0) {
    const data = Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
    let written = 0;
    while (written < data.length) written += fs.writeSync(jsonlFd, data, written, data.length - written);
  }
}
