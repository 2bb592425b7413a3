/**
 * Bulk ingest of encoded documents: batches of `batchSize` docs as NDJSON index actions, at most
 * `concurrency` requests in flight, retries with backoff (bulk.ts), per-document failures collected and
 * appended to a JSONL file, finished batches checkpointed so a rerun skips them. Documents carry their
 * _id, so re-sending a batch that was in flight during a crash only overwrites identical documents.
 */
import * as fs from 'fs';

import { DocVectorCleaner, type DocVectorBatch } from '../export/doc-vectors';
import { bulkIndexLines, docIdProblem } from '../export/formats';
import { checkPruneSpec, type PruneSpec } from '../sparse/prune';
import type { KeyPolicy } from '../export/token-keys';
import { type DropCounts, newDropCounts } from '../export/weights';
import { csrRows } from '../sparse/csr';
import { type BulkDoc, type BulkTransport, type DocFailure, DEFAULT_RETRY, type RetryHooks, type RetryPolicy, sendBulkWithRetry } from './bulk';
import { Checkpoint } from './checkpoint';
import { checkSparseVectorVocabulary } from './limits';

export interface IngestOptions {
  transport: BulkTransport;
  field: string;
  fieldType: 'rank_features' | 'sparse_vector';
  /** id -> token string; required for rank_features. */
  vocab?: readonly string[];
  keyPolicy?: KeyPolicy;
  prune?: PruneSpec;
  batchSize?: number;
  concurrency?: number;
  retry?: RetryPolicy;
  retryHooks?: RetryHooks;
  /** Finished batches (Checkpoint.open); a fresh in-memory one when absent. */
  checkpoint?: Checkpoint;
  /** Permanent per-document failures are appended here as JSONL. */
  failuresFile?: string;
  /** Called with the number of documents handled (sent or skipped) so far. */
  onProgress?: (docs: number) => void;
}

export interface IngestReport {
  docsSeen: number;
  /** Documents in batches a previous run finished (skipped now). */
  docsSkipped: number;
  docsIndexed: number;
  docsFailed: number;
  batchesSent: number;
  /** Up to 100 failures of this run, for display; the full list is in failuresFile. */
  failureSample: DocFailure[];
  drops: DropCounts;
}

const FAILURE_SAMPLE = 100;

export async function ingestBatches(
  batches: AsyncIterable<DocVectorBatch> | Iterable<DocVectorBatch>, o: IngestOptions,
): Promise<IngestReport> {
  const batchSize = o.batchSize ?? 500;
  const concurrency = o.concurrency ?? 2;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const checkpoint = o.checkpoint ?? Checkpoint.open(null, { input: '', index: '', field: o.field, batchSize });
  if (checkpoint.identity.batchSize !== batchSize) throw new Error(`checkpoint was made with batch size ${checkpoint.identity.batchSize}, not ${batchSize}`);
  // Ids of 32,768 and above would collide in a sparse_vector field: refuse before sending anything.
  const sparseVector = o.fieldType === 'sparse_vector';
  if (sparseVector && o.vocab) checkSparseVectorVocabulary(o.vocab.length, 'the vocabulary');
  if (o.prune) await checkPruneSpec(o.prune);
  const cleaner = new DocVectorCleaner({
    keyMode: o.fieldType === 'sparse_vector' ? 'id' : 'token', vocab: o.vocab, keyPolicy: o.keyPolicy, prune: o.prune,
  });
  const report: IngestReport = { docsSeen: 0, docsSkipped: 0, docsIndexed: 0, docsFailed: 0, batchesSent: 0, failureSample: [], drops: newDropCounts() };
  const inFlight = new Set<Promise<void>>();
  let fatal: Error | null = null;
  let handled = 0;

  const record = (failures: DocFailure[]) => {
    if (failures.length && o.failuresFile) fs.appendFileSync(o.failuresFile, failures.map((f) => JSON.stringify(f) + '\n').join(''));
    for (const f of failures) if (report.failureSample.length < FAILURE_SAMPLE) report.failureSample.push(f);
  };

  const launch = (batchNo: number, docs: BulkDoc[], invalid: DocFailure[]) => {
    report.batchesSent++;
    const p = (async () => {
      const failures = docs.length ? await sendBulkWithRetry(o.transport, docs, o.retry ?? DEFAULT_RETRY, o.retryHooks) : [];
      const all = [...invalid, ...failures];
      record(all);
      const indexed = docs.length - failures.length;
      report.docsIndexed += indexed;
      report.docsFailed += all.length;
      checkpoint.markDone(batchNo, indexed, all.length);
      handled += docs.length + invalid.length;
      o.onProgress?.(handled);
    })().catch((e: Error) => { fatal ??= e; });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  let offset = 0;
  let current: BulkDoc[] = [];
  let invalid: DocFailure[] = [];
  let currentNo = 0;
  const flush = async () => {
    if (current.length || invalid.length) {
      while (inFlight.size >= concurrency && !fatal) await Promise.race(inFlight);
      if (!fatal) launch(currentNo, current, invalid);
    }
    current = [];
    invalid = [];
  };

  // An input error (bad line, inconsistent batch) must not lose what is in flight: finish those
  // requests and write the checkpoint before reporting it.
  let inputError: Error | null = null;
  try {
    for await (const batch of batches) {
      if (fatal) break;
      const rows = csrRows(batch.csr);
      if (batch.ids.length !== rows) throw new RangeError(`batch has ${rows} CSR rows but ${batch.ids.length} doc ids`);
      if (sparseVector) checkSparseVectorVocabulary(batch.csr.numCols, 'the input (CSR columns)');
      // Rows of batches already sent are skipped without cleaning, so the drop counts cover this run only.
      const batchOf = (r: number) => Math.floor((offset + r) / batchSize);
      const docs = await cleaner.batch(batch, report.drops, (r) => !checkpoint.isDone(batchOf(r)));
      for (let r = 0; r < rows; r++, offset++) {
        const batchNo = Math.floor(offset / batchSize);
        if (batchNo !== currentNo) { await flush(); currentNo = batchNo; if (fatal) break; }
        report.docsSeen++;
        if (checkpoint.isDone(batchNo)) {
          report.docsSkipped++;
          handled++;
          if (offset % batchSize === batchSize - 1) o.onProgress?.(handled);
          continue;
        }
        const doc = docs[r]!;
        const problem = docIdProblem(doc.id);
        if (problem) { invalid.push({ id: doc.id, status: 0, type: 'invalid_document_id', reason: problem, attempts: 0 }); continue; }
        current.push({ id: doc.id, lines: bulkIndexLines(doc, o.field) });
      }
    }
    if (!fatal) await flush();
  } catch (e) {
    inputError = e as Error;
  }
  while (inFlight.size) await Promise.race(inFlight);
  checkpoint.flush();
  const stop = fatal ?? inputError;
  if (stop) {
    stop.message += ` — stopped after ${report.docsIndexed} documents indexed in this run; ` +
      `${checkpoint.batchesDone} batches are checkpointed, rerun the same command to resume`;
    throw stop;
  }
  return report;
}
