/**
 * Corpus encoding (issue 6): a corpus streamed in windows of input positions; each window tokenized once,
 * sorted by token length and cut into batches (little padding); batches encoded by the native model while
 * the next window is read and tokenized and the previous batch is written; optional pruning (OpenSearch's
 * four definitions); vectors appended to a binary CSR file and/or JSONL, each batch committed by a
 * progress record. A restart with mode 'resume' cuts the outputs back to the last committed batch, skips
 * the documents already written (checked by id) and continues: no document lost, none written twice.
 * With `shard`, only the windows of that shard are encoded (lib/encode/shard-layout.ts; the sharded run
 * and its merge are in sharded-encode.ts).
 */
import * as path from 'path';

import type { DataProblem } from '../data/errors';
import type { JsonlReport } from '../data/jsonl';
import { lengthSortedBatches } from './document-batches';
import { startProgress } from '../io/progress';
import type { SparseEncoder } from './sparse-encoder';
import { setNumThreads } from '../native/threads';
import type { Csr } from '../sparse/csr';
import { pruneCsr } from '../sparse/prune';
import {
  CorpusDocument, CorpusInput, CorpusReadOptions, corpusDocuments, countCorpusLines, documentWindows, resolveCorpusFile,
} from './corpus-input';
import { CommittedState, writeProgressRecord } from './progress-record';
import { EncodeMode, EncodeSettings, EncodeSettingsInput, defaultProgressFile, openRun, resolveOutputPaths, resolveSettings, runIdentity } from './run-setup';
import { ShardSpec, checkShard, shardLabel, windowOwner } from './shard-layout';
import type { OutputPaths, VectorOutputs } from './vector-outputs';

export interface EncodeCorpusOptions extends EncodeSettingsInput, CorpusReadOptions {
  /** Where the vectors go: a binary CSR file and/or a JSONL file (at least one). */
  outputs: OutputPaths;
  /** Default 'create' (existing outputs are an error). */
  mode?: EncodeMode;
  /** Default: `<first output>.progress.json`. */
  progressFile?: string;
  /** Intra-op threads of the native encoder (process-wide). Default: unchanged. */
  threads?: number;
  /** Progress bar with docs/s and ETA on stderr (only on a TTY). Default true. */
  progress?: boolean;
  /** Document count for the progress bar when the corpus is an iterable (a file is counted). */
  totalDocs?: number;
  /** Names an iterable input in the progress record, so a resume can check it is the same. Default 'documents'. */
  inputName?: string;
  /** Stops cleanly: the batch being encoded is finished and committed, then the run returns with complete = false. */
  signal?: AbortSignal;
  /** Called after every committed batch. */
  onBatch?: (state: Readonly<CommittedState>) => void;
  /**
   * Encode only the windows of this shard (window w belongs to rank w mod count) into `outputs`, which are
   * then the shard's own files. Recorded in the progress record: a resume must name the same shard.
   */
  shard?: ShardSpec;
}

export interface EncodeCorpusReport {
  input: string;
  outputs: { csr: string | null; jsonl: string | null; progress: string };
  /** False when the run was stopped by `signal` before the end of the corpus. */
  complete: boolean;
  /** Documents in the outputs now. */
  docs: number;
  /** Documents encoded by this call. */
  encodedDocs: number;
  /** Documents already in the outputs when this call started (resume). */
  resumedDocs: number;
  batches: number;
  skippedLines: DataProblem[];
  /** Uncommitted bytes cut off the outputs on resume. */
  truncatedBytes: { csr: number; jsonl: number };
  emptyVectors: number;
  /** Nonzero weights per document, over every document in the outputs. */
  nnz: { total: number; mean: number; min: number | null; max: number | null };
  /** Wall time of this call, and its encoded documents per second. */
  seconds: number;
  docsPerSecond: number;
  settings: EncodeSettings;
}

interface PlannedBatch {
  ids: string[];
  /** Token ids from the window's one tokenization (the batch is encoded from these, not re-tokenized). */
  rows: number[][];
}

interface BatchPlanning {
  encoder: SparseEncoder;
  settings: EncodeSettings;
  outputs: VectorOutputs;
  /** Documents of the input found already written (resume). */
  alreadyWritten: number;
  /** Only the windows of this shard are planned. */
  shard: ShardSpec | null;
}

const ignore = (): void => undefined;

/**
 * The batches still to encode, window by window. The next window is read and tokenized while the caller
 * encodes this one's batches. A window whose documents are all written is skipped without tokenizing;
 * a partly written window is cut into the same batches as before, and a batch is either wholly written
 * (skipped) or not at all — anything else means the input changed since the interrupted run.
 */
async function* plannedBatches(docs: AsyncGenerator<CorpusDocument>, plan: BatchPlanning): AsyncGenerator<PlannedBatch> {
  const { encoder, settings, outputs } = plan;
  const windows = documentWindows(docs, settings.windowSize);
  let windowIndex = -1;
  const prepare = async (): Promise<PlannedBatch[] | null> => {
    const next = await windows.next();
    if (next.done) return null;
    const window = next.value;
    windowIndex++;
    // Another shard's window: not tokenized, not looked up (its documents are in that shard's outputs).
    if (plan.shard && windowOwner(windowIndex, plan.shard.count) !== plan.shard.rank) return [];
    const written = window.map((d) => outputs.isWritten(d.id));
    const writtenCount = written.filter(Boolean).length;
    plan.alreadyWritten += writtenCount;
    if (writtenCount === window.length) return [];
    const texts = window.map((d) => d.text);
    const rows = await encoder.tokenizer.encodeDocumentIds(texts, settings.maxLength, { allowEmpty: true });
    const batches: PlannedBatch[] = [];
    for (const positions of lengthSortedBatches(rows.map((r) => r.length), settings.batchSize, settings.batchTokens)) {
      const done = positions.filter((p) => written[p]);
      if (done.length === positions.length) continue;
      if (done.length > 0) {
        const missing = positions.find((p) => !written[p])!;
        throw new Error(`document '${window[done[0]].id}' is in the outputs but '${window[missing].id}', which the same settings put in its ` +
          'batch, is not: the input changed since the interrupted run; start over with overwrite');
      }
      batches.push({ ids: positions.map((p) => window[p].id), rows: positions.map((p) => rows[p]) });
    }
    return batches;
  };
  let pending = prepare();
  pending.catch(ignore);  // awaited below; this only keeps an early rejection from being reported as unhandled
  try {
    for (;;) {
      const batches = await pending;
      if (batches === null) return;
      pending = prepare();
      pending.catch(ignore);
      yield* batches;
    }
  } finally {
    await pending.catch(ignore);
    await windows.return(undefined);
  }
}

/** Documents of a `total`-document input in `shard`'s windows (the progress bar's total for a shard). */
function shardDocCount(total: number, windowSize: number, shard: ShardSpec): number {
  const windows = Math.ceil(total / windowSize);
  let docs = 0;
  for (let w = shard.rank; w < windows; w += shard.count) docs += Math.min(windowSize, total - w * windowSize);
  return docs;
}

function addBatchStats(state: CommittedState, vectors: Csr): void {
  for (let r = 0; r + 1 < vectors.indptr.length; r++) {
    const nnz = vectors.indptr[r + 1] - vectors.indptr[r];
    state.nnzTotal += nnz;
    state.nnzMin = state.nnzMin === null ? nnz : Math.min(state.nnzMin, nnz);
    state.nnzMax = state.nnzMax === null ? nnz : Math.max(state.nnzMax, nnz);
    if (nnz === 0) state.emptyVectors++;
  }
  state.docs += vectors.indptr.length - 1;
  state.batches++;
}

/** Encodes a corpus into vector files; see the module comment. Returns what was done. */
export async function encodeCorpus(encoder: SparseEncoder, corpus: CorpusInput, opts: EncodeCorpusOptions): Promise<EncodeCorpusReport> {
  const started = process.hrtime.bigint();
  const paths = resolveOutputPaths(opts?.outputs, 'encodeCorpus', 'encodeCorpus');
  const settings = await resolveSettings(encoder, opts);
  const corpusFile = typeof corpus === 'string' ? resolveCorpusFile(corpus) : null;
  const input = corpusFile ?? opts.inputName ?? 'documents';
  const progressFile = path.resolve(opts.progressFile ?? defaultProgressFile(paths));
  const shard = opts.shard ? checkShard(opts.shard) : null;
  const identity = runIdentity(encoder, input, settings, paths);
  if (shard) identity.shard = shardLabel(shard);
  if (opts.threads !== undefined) setNumThreads(opts.threads);

  const vocab = Array.from({ length: encoder.vocabSize }, (_, id) => encoder.tokenizer.idToToken(id));
  const run = await openRun(progressFile, identity, paths, vocab, opts.mode ?? 'create');
  const committed = run.committed;
  const resumedDocs = committed.docs;
  const corpusReport: JsonlReport = { file: input, records: 0, skipped: [] };
  const report = (complete: boolean, encodedDocs: number, batches: number): EncodeCorpusReport => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      input, outputs: { csr: paths.csr ?? null, jsonl: paths.jsonl ?? null, progress: progressFile }, complete,
      docs: committed.docs, encodedDocs, resumedDocs, batches, skippedLines: corpusReport.skipped,
      truncatedBytes: run.outputs ? { ...run.outputs.truncated } : { csr: 0, jsonl: 0 }, emptyVectors: committed.emptyVectors,
      nnz: { total: committed.nnzTotal, mean: committed.docs ? committed.nnzTotal / committed.docs : 0, min: committed.nnzMin, max: committed.nnzMax },
      seconds, docsPerSecond: encodedDocs > 0 ? encodedDocs / seconds : 0, settings,
    };
  };
  if (run.complete || !run.outputs) return report(true, 0, 0);
  const outputs = run.outputs;

  const showBar = opts.progress !== false && process.stderr.isTTY === true;
  const inputTotal = corpusFile ? (showBar ? await countCorpusLines(corpusFile) : undefined) : opts.totalDocs;
  const total = inputTotal !== undefined && shard ? shardDocCount(inputTotal, settings.windowSize, shard) : inputTotal;
  const bar = startProgress('encode', total ?? 0, showBar && total !== undefined, { unit: 'docs', initial: resumedDocs });
  const plan: BatchPlanning = { encoder, settings, outputs, alreadyWritten: 0, shard };
  const docs = corpusDocuments(corpusFile ?? corpus, { onBadLine: settings.onBadLine, warn: opts.warn }, corpusReport);
  const batches = plannedBatches(docs, plan);
  const encodeBatch = async (batch: PlannedBatch): Promise<{ batch: PlannedBatch; vectors: Csr }> => {
    // One native call per batch: the rows are already length-sorted, so encodeDocumentRows forms exactly this batch.
    const vectors = await encoder.encodeDocumentRows(batch.rows, {
      batchSize: batch.rows.length, activation: settings.activation, k: settings.k,
      zeroSpecialTokens: settings.zeroSpecialTokens, dtype: settings.dtype, progress: false,
    });
    return { batch, vectors: settings.prune ? await pruneCsr(vectors, settings.prune) : vectors };
  };
  let encodedDocs = 0;
  let batchCount = 0;
  let inputExhausted = false;
  let skippedShown = 0;
  let inflight: Promise<{ batch: PlannedBatch; vectors: Csr }> | null = null;
  const startNext = async (): Promise<void> => {
    const next = await batches.next();
    if (next.done) { inputExhausted = true; return; }
    inflight = encodeBatch(next.value);
    inflight.catch(ignore);  // awaited in the loop; see plannedBatches
  };
  try {
    await startNext();
    while (inflight) {
      const { batch, vectors } = await (inflight as Promise<{ batch: PlannedBatch; vectors: Csr }>);
      inflight = null;
      // The next batch is encoded natively while this one is written. A planning error (e.g. a malformed
      // line in the next window) is raised only after this batch is committed, so a resume need not redo it.
      let planningError: unknown = null;
      if (!opts.signal?.aborted) await startNext().catch((e: unknown) => { planningError = e; });
      outputs.append(vectors, batch.ids);
      addBatchStats(committed, vectors);
      Object.assign(committed, outputs.committedBytes);
      writeProgressRecord(progressFile, identity, committed, false);
      encodedDocs += batch.ids.length;
      batchCount++;
      // Skipped lines count towards the input's total; a shard reads every line but its total is its own documents.
      bar.increment(batch.ids.length + (shard ? 0 : corpusReport.skipped.length - skippedShown));
      skippedShown = corpusReport.skipped.length;
      opts.onBatch?.(committed);
      if (planningError) throw planningError;
    }
    if (inputExhausted) {
      if (plan.alreadyWritten !== resumedDocs) {
        throw new Error(`${resumedDocs - plan.alreadyWritten} document(s) in the outputs are not in the input ${input}: ` +
          'the input changed since the interrupted run; start over with overwrite');
      }
      writeProgressRecord(progressFile, identity, committed, true);
    }
  } finally {
    if (inflight) await (inflight as Promise<unknown>).catch(ignore);
    await batches.return(undefined);
    outputs.close();
    bar.stop();
  }
  return report(inputExhausted, encodedDocs, batchCount);
}
