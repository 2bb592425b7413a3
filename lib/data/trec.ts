import * as fs from 'fs';

import type { Hit, Qrels, Run } from '../eval/types';
import { DataError } from './errors';
import { readLines, requireFile } from './lines';

/**
 * TREC run and qrels files, read the way trec_eval reads them: whitespace-separated columns,
 * `qid Q0 docno rank score tag` for runs (columns after the sixth are ignored, as trec_eval does)
 * and `qid iteration docno relevance` for qrels. Duplicated (query, document) pairs are errors in both.
 */

export interface TrecRunFile {
  run: Run;
  /** The tag column of the first line (trec_eval's runid). */
  tag: string;
  lines: number;
}

export async function readTrecRun(file: string): Promise<TrecRunFile> {
  requireFile(file, 'TREC run file');
  const run: Run = new Map();
  let tag: string | null = null;
  let lines = 0;
  for await (const { text, line } of readLines(file)) {
    const fields = text.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    if (fields.length < 6) throw new DataError(file, line, `expected 6 columns 'qid Q0 docno rank score tag', found ${fields.length}`);
    const [qid, , docno, , scoreText, lineTag] = fields;
    const score = Number(scoreText);
    if (scoreText === '' || !Number.isFinite(score)) throw new DataError(file, line, `score '${scoreText}' is not a finite number`);
    let docs = run.get(qid);
    if (!docs) run.set(qid, (docs = new Map()));
    if (docs.has(docno)) throw new DataError(file, line, `document '${docno}' is listed twice for query '${qid}'`);
    docs.set(docno, score);
    tag ??= lineTag;
    lines++;
  }
  return { run, tag: tag ?? '', lines };
}

export async function readTrecQrels(file: string): Promise<Qrels> {
  requireFile(file, 'TREC qrels file');
  const qrels: Qrels = new Map();
  for await (const { text, line } of readLines(file)) {
    const fields = text.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    if (fields.length !== 4) throw new DataError(file, line, `expected 4 columns 'qid iteration docno relevance', found ${fields.length}`);
    addJudgment(qrels, fields[0], fields[2], fields[3], file, line);
  }
  return qrels;
}

/** Adds one judgment, rejecting non-integer relevance and repeated (query, document) pairs. */
export function addJudgment(qrels: Qrels, qid: string, docId: string, relevanceText: string, file: string, line: number): void {
  if (!/^[-+]?\d+$/.test(relevanceText)) throw new DataError(file, line, `relevance '${relevanceText}' is not an integer`);
  let docs = qrels.get(qid);
  if (!docs) qrels.set(qid, (docs = new Map()));
  if (docs.has(docId)) throw new DataError(file, line, `document '${docId}' is judged twice for query '${qid}'`);
  docs.set(docId, Number(relevanceText));
}

/**
 * One TREC run line `qid Q0 docid rank score tag` (the package's one TREC line writer). Ids and the tag
 * with whitespace would shift the columns, and empty ones would drop a column, so both are refused.
 */
export function formatTrecRunLine(qid: string, docId: string, rank: number, score: number, tag: string): string {
  if (/\s/.test(tag) || tag === '') throw new Error(`run tag must be a non-empty word without spaces, got '${tag}'`);
  if (/\s/.test(docId) || /\s/.test(qid) || docId === '' || qid === '')
    throw new Error(`ids in a TREC run must be non-empty and cannot contain whitespace: query '${qid}', document '${docId}'`);
  return `${qid} Q0 ${docId} ${rank} ${formatScore(score)} ${tag}`;
}

/** The lines of one query's hits; ranks start at 1 in the order given. */
export function formatTrecRunLines(qid: string, hits: readonly Hit[], tag: string): string {
  let out = '';
  hits.forEach((hit, i) => { out += formatTrecRunLine(qid, hit.docId, i + 1, hit.score, tag) + '\n'; });
  return out;
}

/** Scores are written with enough digits to round-trip a float32 exactly, so re-reading keeps every tie. */
function formatScore(score: number): string {
  return Number.isInteger(score) ? score.toFixed(1) : String(Math.fround(score) === score ? Number(score.toPrecision(9)) : score);
}

/** Writes a whole run (queries in the given map order) to a file. */
export async function writeTrecRun(file: string, results: Map<string, readonly Hit[]>, tag: string): Promise<void> {
  const out = fs.createWriteStream(file, { encoding: 'utf8' });
  const done = new Promise<void>((resolve, reject) => { out.on('finish', resolve); out.on('error', reject); });
  for (const [qid, hits] of results) {
    if (!out.write(formatTrecRunLines(qid, hits, tag))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await done;
}

/** The hits of a search as a Run (for evaluation without a round trip through a file). */
export function hitsToRun(results: Map<string, readonly Hit[]>): Run {
  const run: Run = new Map();
  for (const [qid, hits] of results) run.set(qid, new Map(hits.map((h) => [h.docId, h.score])));
  return run;
}
