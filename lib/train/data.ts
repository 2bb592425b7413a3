/**
 * Training groups: one query with G documents (the positive first) and optional teacher scores.
 * From a training JSONL file, or from a BEIR folder whose train qrels give the positives and whose
 * negatives are mined with the built-in BM25 (Lucene-style, word level).
 */
import { buildBm25Index, englishAnalyzer, type Bm25Index } from '../bm25';
import { DataError, loadBeir, readJsonl, type JsonlReport } from '../data';
import { isPlainObject } from '../data/jsonl';
import { documentText, type BeirDocument } from '../data/beir';
import type { TrainDataConfig } from './config';

export interface TrainingGroup {
  queryId: string;
  query: string;
  docs: string[];
  docIds?: string[];
  scores?: number[];
}

export interface TrainingData {
  groups: TrainingGroup[];
  groupSize: number;
  /** Texts of the corpus the groups draw from (for the query-side IDF). */
  corpusTexts: string[];
  /** The corpus with ids (BEIR ids, or for JSONL the doc_ids given or 'd<n>' in order of appearance). */
  corpus: { id: string; text: string }[];
  /** Everything skipped while reading, reported to the user. */
  skippedLines: number;
}

function validateJsonlGroup(value: unknown): TrainingGroup | string {
  if (!isPlainObject(value)) return 'expected an object {"query", "docs", "scores"?}';
  for (const key of Object.keys(value)) {
    if (!['query', 'docs', 'scores', 'query_id', 'doc_ids'].includes(key)) return `unknown field '${key}'`;
  }
  if (typeof value.query !== 'string' || value.query.trim() === '') return "'query' must be a non-empty string";
  if (!Array.isArray(value.docs) || value.docs.length === 0) return "'docs' must be a non-empty array of strings";
  const bad = value.docs.findIndex((d) => typeof d !== 'string' || d.trim() === '');
  if (bad >= 0) return `docs[${bad}] is empty or not a string`;
  let scores: number[] | undefined;
  if (value.scores !== undefined) {
    if (!Array.isArray(value.scores) || value.scores.length !== value.docs.length) return `'scores' must be an array of ${value.docs.length} numbers (one per doc)`;
    const nonFinite = value.scores.findIndex((s) => typeof s !== 'number' || !Number.isFinite(s));
    if (nonFinite >= 0) return `scores[${nonFinite}] is not a finite number`;
    scores = value.scores as number[];
  }
  return {
    queryId: typeof value.query_id === 'string' ? value.query_id : '',
    query: value.query, docs: value.docs as string[], scores,
    docIds: Array.isArray(value.doc_ids) ? (value.doc_ids as unknown[]).map(String) : undefined,
  };
}

export async function readTrainingJsonl(file: string, config: TrainDataConfig): Promise<TrainingData> {
  const groups: TrainingGroup[] = [];
  const report: JsonlReport = { file, records: 0, skipped: [] };
  let groupSize = 0;
  for await (const { record, line } of readJsonl(file, validateJsonlGroup, { onBadLine: config.onBadLine }, report)) {
    if (groupSize === 0) groupSize = record.docs.length;
    if (record.docs.length !== groupSize) {
      throw new DataError(file, line, `group of ${record.docs.length} docs, but the first group has ${groupSize}: every query needs the same number of docs (slots)`);
    }
    if (config.teacher === 'data' && !record.scores) throw new DataError(file, line, "no 'scores' but the run uses teacher scores from the data (data.teacher: data)");
    record.queryId ||= `line${line}`;
    groups.push(record);
  }
  if (groups.length === 0) throw new Error(`${file}: no training groups`);
  const ids = new Map<string, string>();
  for (const g of groups) {
    g.docIds ??= g.docs.map((text) => {
      if (!ids.has(text)) ids.set(text, `d${ids.size}`);
      return ids.get(text)!;
    });
  }
  const corpus = new Map<string, string>();
  for (const g of groups) g.docs.forEach((text, i) => corpus.set(g.docIds![i], text));
  const corpusList = [...corpus].map(([id, text]) => ({ id, text }));
  return { groups, groupSize, corpusTexts: corpusList.map((d) => d.text), corpus: corpusList, skippedLines: report.skipped.length };
}

/** BM25 scores of every document for one query, as a map docId -> score (0 when absent). */
function bm25Scores(index: Bm25Index, queryTerms: readonly string[]): Map<string, number> {
  return new Map(index.search(queryTerms, index.size).map((h) => [h.docId, h.score]));
}

/**
 * BEIR training data: every (query, positive) judgment of the split becomes a group
 * [positive, n hard negatives], the negatives being the best BM25 hits that are not judged relevant
 * (after skipping `skipNegatives` of them). Teacher 'bm25' attaches the BM25 scores of the group.
 */
export async function readTrainingBeir(dir: string, config: TrainDataConfig,
  onProgress?: (done: number, total: number) => void): Promise<TrainingData> {
  const data = await loadBeir(dir, config.split ?? 'train', { onBadLine: config.onBadLine });
  const texts = new Map(data.corpus.map((d) => [d.id, documentText(d)]));
  const analyzer = englishAnalyzer();
  const index = await buildBm25Index(data.corpus.map((d) => ({ id: d.id, text: documentText(d) })), analyzer);
  const negatives = config.negatives ?? 1;
  const skip = config.skipNegatives ?? 0;
  const groups: TrainingGroup[] = [];
  let done = 0;
  for (const query of data.queries) {
    const judged = data.qrels.get(query.id) ?? new Map<string, number>();
    const positives = [...judged].filter(([id, rel]) => rel > 0 && texts.has(id)).map(([id]) => id).sort();
    const terms = analyzer(query.text);
    const scores = bm25Scores(index, terms);
    const ranked = [...scores.keys()];
    const pool = ranked.filter((id) => !((judged.get(id) ?? 0) > 0)).slice(skip, skip + negatives);
    for (let i = 0; pool.length < negatives && i < data.corpus.length; i++) {
      const id = data.corpus[i].id;  // queries with few BM25 hits: fill from the corpus order, deterministically
      if (!pool.includes(id) && !((judged.get(id) ?? 0) > 0)) pool.push(id);
    }
    for (const pos of positives) {
      const docIds = [pos, ...pool];
      groups.push({
        queryId: query.id, query: query.text, docIds, docs: docIds.map((id) => texts.get(id)!),
        scores: config.teacher === 'bm25' ? docIds.map((id) => scores.get(id) ?? 0) : undefined,
      });
    }
    onProgress?.(++done, data.queries.length);
  }
  if (groups.length === 0) throw new Error(`${dir}: split '${config.split}' has no judged (query, relevant doc) pair`);
  if (config.titlePairs) groups.push(...titlePairGroups(data.corpus, index, analyzer, negatives, skip, config.teacher === 'bm25'));
  return {
    groups, groupSize: 1 + negatives, corpusTexts: [...texts.values()],
    corpus: [...texts].map(([id, text]) => ({ id, text })), skippedLines: data.problems.length,
  };
}

/**
 * Self-supervised groups where labels are scarce (data.titlePairs): for each document with a title and a body, the
 * title is the query and the body the positive; the negatives are the bodies of the title's best BM25 hits (over
 * whole documents) after the document itself. Bodies on both sides, so that no side can tell positives by a missing
 * title. Query ids are "title:<doc id>".
 */
function titlePairGroups(corpus: readonly BeirDocument[], index: Bm25Index, analyzer: (text: string) => string[],
  negatives: number, skip: number, withTeacher: boolean): TrainingGroup[] {
  const bodies = new Map(corpus.map((d) => [d.id, d.text]));
  const groups: TrainingGroup[] = [];
  for (const doc of corpus) {
    if (doc.title.trim() === '' || doc.text.trim() === '') continue;
    const hits = index.search(analyzer(doc.title), 1 + skip + negatives).filter((h) => h.docId !== doc.id && bodies.get(h.docId)!.trim() !== '');
    const pool = hits.slice(skip, skip + negatives);
    if (pool.length < negatives) continue;  // a title with too few BM25 hits gives no hard negatives
    const docIds = [doc.id, ...pool.map((h) => h.docId)];
    const scores = withTeacher ? bm25Scores(index, analyzer(doc.title)) : undefined;
    groups.push({
      queryId: `title:${doc.id}`, query: doc.title, docIds, docs: docIds.map((id) => bodies.get(id)!),
      scores: scores && docIds.map((id) => scores.get(id) ?? 0),
    });
  }
  return groups;
}

export function readTrainingData(config: TrainDataConfig, onProgress?: (done: number, total: number) => void): Promise<TrainingData> {
  if (config.jsonl) return readTrainingJsonl(config.jsonl, config);
  if (config.beir) return readTrainingBeir(config.beir, config, onProgress);
  throw new Error("training data: set data.jsonl or data.beir");
}
