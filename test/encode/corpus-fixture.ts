/**
 * Small corpora for the corpus-encoding tests, cut at run time from the shared SciFact corpus (never
 * committed), and the truth they are compared with: the same texts encoded directly by
 * SparseEncoder.encodeDocuments in ONE batch (no windows, no length sorting, no pipeline).
 */
import * as fs from 'fs';
import * as path from 'path';

import type { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { csrRows } from '../../lib/sparse/csr';
import type { Csr } from '../../lib/sparse/csr';
import { readCsrFileAll } from '../../lib/sparse/csr-file';
import { readJsonlVectorsAll } from '../../lib/sparse/jsonl-vectors';

export interface RawDoc {
  _id: string;
  title: string;
  text: string;
}

/**
 * The first `count` SciFact documents, their texts cut to varied word counts (0, 3, 6, ... words) so that
 * token lengths differ and length bucketing changes the batches.
 */
export function sciFactDocs(data: string, count: number): RawDoc[] {
  const lines = fs.readFileSync(path.join(data, 'scifact', 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(0, count).map((line, i) => {
    const doc = JSON.parse(line) as RawDoc;
    const words = doc.text.split(/\s+/).slice(0, (i % 9) * 3).join(' ');
    return { _id: doc._id, title: i % 4 === 0 ? '' : doc.title.split(' ').slice(0, i % 5).join(' '), text: words };
  });
}

export function writeCorpus(file: string, docs: RawDoc[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return file;
}

/** Document id -> dense weight row (vocabulary-sized): random models give nearly dense vectors, so dense is the cheap form. */
export type VectorMap = Map<string, Float32Array>;

export function vectorMap(csr: Csr, ids: readonly string[]): VectorMap {
  const map: VectorMap = new Map();
  for (let r = 0; r < csrRows(csr); r++) {
    if (map.has(ids[r])) throw new Error(`id '${ids[r]}' occurs twice`);
    const row = new Float32Array(csr.numCols);
    for (let j = csr.indptr[r]; j < csr.indptr[r + 1]; j++) row[csr.indices[j]] = csr.values[j];
    map.set(ids[r], row);
  }
  return map;
}

/** Truth: BEIR's title + " " + text, encoded in one batch by the encoder API. */
export async function directVectors(encoder: SparseEncoder, docs: RawDoc[], opts: { zeroSpecialTokens?: boolean; maxLength?: number } = {}): Promise<VectorMap> {
  const texts = docs.map((d) => `${d.title} ${d.text}`);
  const csr = await encoder.encodeDocuments(texts, { batchSize: texts.length, progress: false, allowEmpty: true, ...opts });
  return vectorMap(csr, docs.map((d) => d._id));
}

export function csrFileVectors(file: string): { map: VectorMap; ids: string[] } {
  const { csr, ids } = readCsrFileAll(file);
  return { map: vectorMap(csr, ids), ids };
}

export async function jsonlFileVectors(file: string, encoder: SparseEncoder): Promise<{ map: VectorMap; ids: string[] }> {
  const vocab = Array.from({ length: encoder.vocabSize }, (_, id) => encoder.tokenizer.idToToken(id));
  const { csr, ids } = await readJsonlVectorsAll(file, vocab);
  return { map: vectorMap(csr, ids), ids };
}

/** Largest |a - b| / max(1, |b|) over all weights of all documents; the id sets must be equal. */
export function maxRelativeDiff(a: VectorMap, b: VectorMap): number {
  if (a.size !== b.size) throw new Error(`${a.size} vs ${b.size} documents`);
  let worst = 0;
  for (const [id, y] of b) {
    const x = a.get(id);
    if (!x) throw new Error(`document '${id}' is missing`);
    for (let c = 0; c < y.length; c++) worst = Math.max(worst, Math.abs(x[c] - y[c]) / Math.max(1, Math.abs(y[c])));
  }
  return worst;
}

export function nonZeros(row: Float32Array): number {
  let n = 0;
  for (const w of row) if (w !== 0) n++;
  return n;
}
