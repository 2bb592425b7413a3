/**
 * Line formats of the exported files. Strings are assembled by hand rather than via JSON.stringify of
 * an object: token keys such as "__proto__" would be lost on a plain object, integer-like keys would be
 * reordered, and float32 weights need their shortest spelling (lib/sparse/float32.ts).
 */
import type { CleanDoc } from './doc-vectors';
import { shortestFloat32 } from '../sparse/float32';
import type { DropCounts } from './weights';

/** OpenSearch limits a document _id to 512 bytes (Bulk API docs, since 2.9). */
export const MAX_DOC_ID_BYTES = 512;

/** Why a doc id cannot be used, or null. */
export function docIdProblem(id: string): string | null {
  if (typeof id !== 'string' || id.length === 0) return 'empty document id';
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_DOC_ID_BYTES) return `document id is ${bytes} bytes; OpenSearch allows at most ${MAX_DOC_ID_BYTES}`;
  return null;
}

function vectorObject(keys: string[], values: string[]): string {
  let s = '{';
  for (let i = 0; i < keys.length; i++) s += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + values[i];
  return s + '}';
}

/** The two NDJSON lines of one bulk `index` action (action metadata, then the source). */
export function bulkIndexLines(doc: CleanDoc, field: string, index?: string): [string, string] {
  const meta = index === undefined ? `{"index":{"_id":${JSON.stringify(doc.id)}}}`
    : `{"index":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(doc.id)}}}`;
  const source = `{${JSON.stringify(field)}:${vectorObject(doc.keys, doc.values.map(float32Text))}}`;
  return [meta, source];
}

/** Options of the Anserini JsonVectorCollection export. */
export interface AnseriniOptions {
  /**
   * Anserini reads each weight with Jackson's asInt() (JsonVectorCollection) and repeats the token that
   * many times in a pseudo-document, so weights must be integer impacts: round(w * scale). 100 is the
   * scale of Anserini's SPLADE regressions.
   */
  scale: number;
}

/**
 * {"id", "contents": "", "vector": {token: int impact}}. Tokens with whitespace would split the
 * pseudo-document into other terms, so they are dropped (counted as bad keys); impacts rounding to 0
 * are dropped (counted).
 */
export function anseriniLine(doc: CleanDoc, opts: AnseriniOptions, counts: DropCounts): string {
  const keys: string[] = [];
  const impacts: string[] = [];
  for (let i = 0; i < doc.keys.length; i++) {
    if (/\s/.test(doc.keys[i])) { counts.badKey++; continue; }
    const q = Math.round(doc.values[i] * opts.scale);
    if (q <= 0) { counts.quantizedToZero++; continue; }
    keys.push(doc.keys[i]);
    impacts.push(String(q));
  }
  return `{"id":${JSON.stringify(doc.id)},"contents":"","vector":${vectorObject(keys, impacts)}}`;
}

/**
 * Seismic's JSON input (README "Convert the Data"): "id" must be an integer, "content" is optional,
 * "vector" maps token -> float score (Seismic quantises to f16 itself). The integer is the document's
 * ordinal in the file; the original ids go to a sidecar file, one per line, in the same order.
 */
export function seismicLine(doc: CleanDoc, ordinal: number): string {
  return `{"id":${ordinal},"vector":${vectorObject(doc.keys, doc.values.map(float32Text))}}`;
}

function float32Text(v: number): string {
  return String(shortestFloat32(v));
}
