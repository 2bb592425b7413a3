import * as fs from 'fs';
import * as path from 'path';

import type { Qrels } from '../eval/types';
import { DataError, DataProblem, WarningSink, describeProblem, stderrWarnings } from './errors';
import { JsonlOptions, JsonlReport, isPlainObject, readJsonl, stringField } from './jsonl';
import { readLines, requireFile } from './lines';
import { addJudgment, readTrecQrels } from './trec';

/**
 * BEIR dataset folders: corpus.jsonl ({"_id","title","text"}), queries.jsonl ({"_id","text"}) and
 * qrels/<split>.tsv (`query-id  corpus-id  score` with a header line).
 */

export interface BeirDocument {
  id: string;
  title: string;
  text: string;
}

export interface BeirQuery {
  id: string;
  text: string;
}

/** The text a model or BM25 sees for a document: BEIR's title + " " + text (docs/METHOD.md §5). */
export function documentText(doc: BeirDocument): string {
  return doc.title + ' ' + doc.text;
}

export function beirPaths(dir: string, split: string): { corpus: string; queries: string; qrels: string } {
  return {
    corpus: path.join(dir, 'corpus.jsonl'),
    queries: path.join(dir, 'queries.jsonl'),
    qrels: path.join(dir, 'qrels', `${split}.tsv`),
  };
}

function validateDocument(value: unknown): BeirDocument | string {
  if (!isPlainObject(value)) return 'expected a JSON object';
  const id = stringField(value, '_id', true);
  const title = stringField(value, 'title', false);
  const text = stringField(value, 'text', true);
  for (const field of [id, title, text]) if (typeof field !== 'string') return field.error;
  if (id === '') return '"_id" is empty';
  return { id: id as string, title: title as string, text: text as string };
}

function validateQuery(value: unknown): BeirQuery | string {
  if (!isPlainObject(value)) return 'expected a JSON object';
  const id = stringField(value, '_id', true);
  const text = stringField(value, 'text', true);
  for (const field of [id, text]) if (typeof field !== 'string') return field.error;
  if (id === '') return '"_id" is empty';
  return { id: id as string, text: text as string };
}

/**
 * Streams corpus.jsonl. A document id seen twice is always an error (it would make results
 * ambiguous); malformed lines follow `onBadLine`.
 */
export async function* readBeirCorpus(file: string, options: JsonlOptions = {},
  report: JsonlReport = { file, records: 0, skipped: [] }): AsyncGenerator<BeirDocument> {
  const seen = new Set<string>();
  for await (const { record, line } of readJsonl(file, validateDocument, options, report)) {
    if (seen.has(record.id)) throw new DataError(file, line, `duplicate document id '${record.id}'`);
    seen.add(record.id);
    yield record;
  }
}

export async function readBeirQueries(file: string, options: JsonlOptions = {},
  report: JsonlReport = { file, records: 0, skipped: [] }): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  for await (const { record, line } of readJsonl(file, validateQuery, options, report)) {
    if (queries.has(record.id)) throw new DataError(file, line, `duplicate query id '${record.id}'`);
    queries.set(record.id, record.text);
  }
  return queries;
}

/** Reads qrels/<split>.tsv: three tab-separated columns; a first line that is not data is the header. */
export async function readBeirQrels(file: string): Promise<Qrels> {
  requireFile(file, 'BEIR qrels file');
  const qrels: Qrels = new Map();
  for await (const { text, line } of readLines(file)) {
    if (text.trim() === '') continue;
    const fields = text.split('\t').map((f) => f.trim());
    if (line === 1 && fields.length === 3 && !/^[-+]?\d+$/.test(fields[2])) continue;
    if (fields.length !== 3) throw new DataError(file, line, `expected 3 tab-separated columns 'query-id corpus-id score', found ${fields.length}`);
    if (fields[0] === '' || fields[1] === '') throw new DataError(file, line, 'empty query or document id');
    addJudgment(qrels, fields[0], fields[1], fields[2], file, line);
  }
  return qrels;
}

/** Reads qrels from a BEIR folder (with a split) or from a TREC/BEIR qrels file, guessed from its first line. */
export async function readQrelsAuto(location: string, split = 'test'): Promise<Qrels> {
  if (fs.existsSync(location) && fs.statSync(location).isDirectory()) return readBeirQrels(beirPaths(location, split).qrels);
  requireFile(location, 'qrels file');
  for await (const { text } of readLines(location)) {
    if (text.trim() === '') continue;
    if (text.includes('\t') && text.split('\t').length === 3) return readBeirQrels(location);
    break;
  }
  return readTrecQrels(location);
}

export interface BeirLoadOptions extends JsonlOptions {
  /** What to do when a qrels line names a document absent from the corpus: 'report' (default) or 'fail'. */
  onUnknownQrelsDoc?: 'report' | 'fail';
}

export interface BeirDataset {
  dir: string;
  split: string;
  corpus: BeirDocument[];
  /** Queries judged in this split, in qrels order, with their text. */
  queries: BeirQuery[];
  qrels: Qrels;
  /** Everything tolerated while loading: skipped lines, judgments of unknown documents or queries. */
  problems: DataProblem[];
}

/**
 * Loads a BEIR split into memory: the whole corpus, the queries judged in the split and their qrels.
 * Judged queries missing from queries.jsonl and judged documents missing from the corpus are
 * reported (or, for documents, fail with `onUnknownQrelsDoc: 'fail'`).
 */
export async function loadBeir(dir: string, split: string, options: BeirLoadOptions = {}): Promise<BeirDataset> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`BEIR dataset folder not found: ${dir}`);
  const files = beirPaths(dir, split);
  requireFile(files.qrels, `qrels for split '${split}'`);
  const warn = options.warn ?? stderrWarnings;
  const problems: DataProblem[] = [];
  const corpusReport: JsonlReport = { file: files.corpus, records: 0, skipped: [] };
  const corpus: BeirDocument[] = [];
  for await (const doc of readBeirCorpus(files.corpus, options, corpusReport)) corpus.push(doc);
  const queriesReport: JsonlReport = { file: files.queries, records: 0, skipped: [] };
  const allQueries = await readBeirQueries(files.queries, options, queriesReport);
  problems.push(...corpusReport.skipped, ...queriesReport.skipped);
  const qrels = await readBeirQrels(files.qrels);

  const docIds = new Set(corpus.map((d) => d.id));
  const unknownDocs: string[] = [];
  for (const [qid, judged] of qrels) for (const docId of judged.keys()) if (!docIds.has(docId)) unknownDocs.push(`${qid}/${docId}`);
  if (unknownDocs.length > 0) {
    const reason = `${unknownDocs.length} judgment(s) name documents not in ${files.corpus} (query/doc: ${unknownDocs.slice(0, 5).join(', ')}${unknownDocs.length > 5 ? ', ...' : ''})`;
    if (options.onUnknownQrelsDoc === 'fail') throw new DataError(files.qrels, null, reason);
    problems.push({ file: files.qrels, line: null, reason });
    warn(describeProblem({ file: files.qrels, line: null, reason }));
  }
  const queries: BeirQuery[] = [];
  const missingQueries: string[] = [];
  for (const qid of qrels.keys()) {
    const text = allQueries.get(qid);
    if (text === undefined) missingQueries.push(qid);
    else queries.push({ id: qid, text });
  }
  if (missingQueries.length > 0) {
    const reason = `${missingQueries.length} judged quer(ies) missing from ${files.queries}: ${missingQueries.slice(0, 5).join(', ')}${missingQueries.length > 5 ? ', ...' : ''}`;
    problems.push({ file: files.qrels, line: null, reason });
    warn(describeProblem({ file: files.qrels, line: null, reason }));
  }
  return { dir, split, corpus, queries, qrels, problems };
}
