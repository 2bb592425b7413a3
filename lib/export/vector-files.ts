/**
 * Writes encoded documents to files other engines read, streaming batch by batch, atomically:
 *  - opensearch-bulk: Bulk API NDJSON, `index` actions; rank_features keyed by token string, or
 *    sparse_vector keyed by token id (POST it with `curl --data-binary @file .../<index>/_bulk`)
 *  - anserini: JsonVectorCollection JSONL with integer impacts
 *  - seismic: Seismic JSONL with float scores and integer ids (+ a sidecar file of the original ids)
 */
import { AtomicLineWriter } from '../io';
import { type CleanDoc, DocVectorCleaner, type DocVectorBatch, type KeyMode } from './doc-vectors';
import { anseriniLine, bulkIndexLines, docIdProblem, seismicLine } from './formats';
import { checkPruneSpec, type PruneSpec } from '../sparse/prune';
import type { KeyPolicy } from './token-keys';
import { type DropCounts, newDropCounts } from './weights';
import { checkSparseVectorVocabulary } from '../opensearch/limits';

export type ExportFormat = 'opensearch-bulk' | 'anserini' | 'seismic';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['opensearch-bulk', 'anserini', 'seismic'];

export interface ExportOptions {
  format: ExportFormat;
  out: string;
  vocab?: readonly string[];
  /** opensearch-bulk only: which field type the file targets. Default rank_features. */
  fieldType?: 'rank_features' | 'sparse_vector';
  /** opensearch-bulk only: field name (default "embedding") and optional _index in each action. */
  field?: string;
  index?: string;
  keyPolicy?: KeyPolicy;
  /** OpenSearch's ingest pruning, applied natively after bad weights and keys are dropped. */
  prune?: PruneSpec;
  /** anserini only: impact = round(weight * scale). Default 100. */
  anseriniScale?: number;
  /** Called after each batch with the number of docs written so far (progress bars). */
  onProgress?: (docs: number) => void;
}

export interface ExportReport {
  format: ExportFormat;
  out: string;
  /** Seismic only: the file listing original doc ids by ordinal. */
  idsOut?: string;
  docs: number;
  entries: number;
  drops: DropCounts;
}

export async function exportVectors(
  batches: AsyncIterable<DocVectorBatch> | Iterable<DocVectorBatch>, opts: ExportOptions,
): Promise<ExportReport> {
  if (!EXPORT_FORMATS.includes(opts.format)) throw new RangeError(`unknown export format '${opts.format}' (one of ${EXPORT_FORMATS.join(', ')})`);
  const keyMode: KeyMode = opts.format === 'opensearch-bulk' && opts.fieldType === 'sparse_vector' ? 'id' : 'token';
  const scale = opts.anseriniScale ?? 100;
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`anserini scale must be a positive number, got ${scale}`);
  // Id keys only go to an OpenSearch sparse_vector field, whose ids must stay below 32,768.
  if (keyMode === 'id' && opts.vocab) checkSparseVectorVocabulary(opts.vocab.length, 'the vocabulary');
  if (opts.prune) await checkPruneSpec(opts.prune);
  const cleaner = new DocVectorCleaner({ keyMode, vocab: opts.vocab, keyPolicy: opts.keyPolicy, prune: opts.prune });
  const field = opts.field ?? 'embedding';
  const drops = newDropCounts();
  const writer = new AtomicLineWriter(opts.out);
  const idsOut = opts.format === 'seismic' ? `${opts.out}.ids.txt` : undefined;
  const idsWriter = idsOut ? new AtomicLineWriter(idsOut) : null;
  let docs = 0;
  let entries = 0;
  try {
    for await (const batch of batches) {
      if (keyMode === 'id') checkSparseVectorVocabulary(batch.csr.numCols, 'the input (CSR columns)');
      for (const doc of await cleaner.batch(batch, drops) as CleanDoc[]) {
        const problem = docIdProblem(doc.id);
        if (problem) throw new RangeError(`document ${docs} (${JSON.stringify(doc.id.slice(0, 40))}): ${problem}`);
        if (opts.format === 'opensearch-bulk') {
          const [meta, source] = bulkIndexLines(doc, field, opts.index);
          await writer.writeLine(meta);
          await writer.writeLine(source);
          entries += doc.keys.length;
        } else if (opts.format === 'anserini') {
          const before = drops.badKey + drops.quantizedToZero;
          await writer.writeLine(anseriniLine(doc, { scale }, drops));
          entries += doc.keys.length - (drops.badKey + drops.quantizedToZero - before);
        } else {
          if (/[\r\n]/.test(doc.id)) throw new RangeError(`document id ${JSON.stringify(doc.id)} contains a line break; the Seismic id file is one id per line`);
          await writer.writeLine(seismicLine(doc, docs));
          await idsWriter!.writeLine(doc.id);
          entries += doc.keys.length;
        }
        docs++;
      }
      opts.onProgress?.(docs);
    }
    await writer.commit();
    if (idsWriter) await idsWriter.commit();
  } catch (e) {
    await writer.abort();
    if (idsWriter) await idsWriter.abort();
    throw e;
  }
  return { format: opts.format, out: opts.out, idsOut, docs, entries, drops };
}
