/**
 * The documents a corpus encoding reads: a BEIR corpus.jsonl streamed line by line (text = title + " " + text,
 * docs/METHOD.md §5), or any iterable of {id, text} that the caller builds. Both end up as one stream of checked
 * documents, cut into fixed windows of input positions so that a resumed run forms the same batches again.
 */
import * as fs from 'fs';
import * as path from 'path';

import { beirPaths, documentText, readBeirCorpus } from '../data/beir';
import type { WarningSink } from '../data/errors';
import type { BadLinePolicy, JsonlReport } from '../data/jsonl';
import { readLines } from '../data/lines';

export interface CorpusDocument {
  id: string;
  text: string;
}

/** A BEIR folder or corpus.jsonl path, or documents given directly. */
export type CorpusInput = string | AsyncIterable<CorpusDocument> | Iterable<CorpusDocument>;

export interface CorpusReadOptions {
  /** Malformed corpus.jsonl lines: 'fail' (default) stops with file and line; 'skip' leaves them out and reports each. */
  onBadLine?: BadLinePolicy;
  /** Receives one message per skipped line; default stderr. */
  warn?: WarningSink;
}

/** corpus.jsonl inside a BEIR folder, or the file itself; a clear error when neither exists. */
export function resolveCorpusFile(location: string): string {
  if (!fs.existsSync(location)) throw new Error(`corpus not found: ${location}`);
  const file = fs.statSync(location).isDirectory() ? beirPaths(location, 'test').corpus : location;
  if (!fs.existsSync(file)) throw new Error(`corpus not found: ${file} (a BEIR folder must hold corpus.jsonl)`);
  return path.resolve(file);
}

/** Non-blank lines of a corpus file: the document count shown by the progress bar (bad lines included). */
export async function countCorpusLines(file: string): Promise<number> {
  let n = 0;
  for await (const { text } of readLines(file)) if (text.trim() !== '') n++;
  return n;
}

/**
 * Streams documents. A file goes through readBeirCorpus, which rejects duplicate ids and applies the
 * bad-line policy (skipped lines land in `report`). Given documents are checked here: each must be
 * {id: non-empty string, text: string}, and an id seen twice is an error naming both positions.
 */
export async function* corpusDocuments(input: CorpusInput, options: CorpusReadOptions, report: JsonlReport):
  AsyncGenerator<CorpusDocument> {
  if (typeof input === 'string') {
    for await (const doc of readBeirCorpus(input, { onBadLine: options.onBadLine, warn: options.warn }, report)) {
      yield { id: doc.id, text: documentText(doc) };
    }
    return;
  }
  const firstSeenAt = new Map<string, number>();
  let position = 0;
  for await (const item of input as AsyncIterable<unknown>) {
    const doc = checkedDocument(item, position);
    const earlier = firstSeenAt.get(doc.id);
    if (earlier !== undefined) throw new Error(`corpus document ${position} has the id '${doc.id}' of document ${earlier}: ids must be unique`);
    firstSeenAt.set(doc.id, position);
    position++;
    yield doc;
  }
}

function checkedDocument(item: unknown, position: number): CorpusDocument {
  if (typeof item !== 'object' || item === null) throw new TypeError(`corpus document ${position} must be an object {id, text}`);
  const { id, text } = item as { id?: unknown; text?: unknown };
  if (typeof id !== 'string' || id.length === 0) throw new TypeError(`corpus document ${position}: id must be a non-empty string`);
  if (typeof text !== 'string') throw new TypeError(`corpus document ${position} ('${id}'): text must be a string`);
  return { id, text };
}

/** Consecutive windows of `size` documents (the last may be shorter). */
export async function* documentWindows(docs: AsyncIterable<CorpusDocument>, size: number): AsyncGenerator<CorpusDocument[]> {
  let window: CorpusDocument[] = [];
  for await (const doc of docs) {
    window.push(doc);
    if (window.length === size) {
      yield window;
      window = [];
    }
  }
  if (window.length > 0) yield window;
}
