/**
 * Builds model dirs for encoder tests at run time from committed pieces (the tiny random MLMs in
 * test/fixtures/models, the config files sentence-transformers wrote in test/fixtures/st/layout) and the
 * shared bert-base-uncased tokenizer + SciFact corpus, which are never committed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { beirPaths, documentText, readBeirCorpus } from '../../lib/data/beir';
import { writeStaticWeights } from '../../lib/model/static-weights';
import { computeIdf } from '../../lib/idf/compute-idf';
import type { IdfTable } from '../../lib/idf/idf-table';
import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';

export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

export type Arch = 'bert' | 'distilbert';

export interface StExpectation {
  idf: { numDocs: number; size: number; sample: Record<string, number> };
  tolerance: { relative: number; absoluteFloor: number };
  topK: number;
  probeStride: number;
  vocabSize: number;
  documentIds: string[];
  queryIds: string[];
  maxLength: Record<Arch, number>;
  queryVectors: [number[], number[]][];
  documentVectors: Record<Arch, Record<'relu' | 'l0', {
    nnz: number; sum: number; sumSquares: number; top: [number[], number[]]; probes: number[];
  }[]>>;
}

export function readExpectation(): StExpectation {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'st', 'expected.json'), 'utf8')) as StExpectation;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `l0sparse-${prefix}-`));
}

function copyModel(arch: Arch, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURES, 'models', arch, name), path.join(dir, name));
}

/** A transformers-layout dir: model fixture + shared tokenizer.json + optional idf.json and l0sparse settings. */
export function hfModelDir(data: string, arch: Arch, dir: string, opts: { idf?: IdfTable; settings?: object } = {}): string {
  copyModel(arch, dir);
  fs.copyFileSync(path.join(data, 'bert-base-uncased', 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  if (opts.idf) opts.idf.save(path.join(dir, 'idf.json'));
  if (opts.settings) fs.writeFileSync(path.join(dir, 'l0sparse_config.json'), JSON.stringify(opts.settings));
  return dir;
}

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) copyTree(src, path.join(to, entry.name));
    else fs.copyFileSync(src, path.join(to, entry.name));
  }
}

/**
 * A sentence-transformers dir exactly as ST 6.0.1 saved it (config files from test/fixtures/st/layout),
 * with the weights, tokenizer.json and query weights put back in.
 */
export function stModelDir(data: string, arch: Arch, activationFunction: 'relu' | 'log1p_relu', queryWeights: Float32Array, dir: string): string {
  copyTree(path.join(FIXTURES, 'st', 'layout'), dir);
  const transformer = path.join(dir, 'document_0_Transformer');
  copyModel(arch, transformer);
  const tokenizerJson = path.join(data, 'bert-base-uncased', 'tokenizer.json');
  fs.copyFileSync(tokenizerJson, path.join(transformer, 'tokenizer.json'));
  fs.copyFileSync(tokenizerJson, path.join(dir, 'query_0_SparseStaticEmbedding', 'tokenizer.json'));
  writeStaticWeights(path.join(dir, 'query_0_SparseStaticEmbedding', 'model.safetensors'), queryWeights);
  const pooling = path.join(dir, 'document_1_SpladePooling', 'config.json');
  const config = JSON.parse(fs.readFileSync(pooling, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(pooling, JSON.stringify({ ...config, activation_function: activationFunction }));
  return dir;
}

let scifactIdf: Promise<IdfTable> | undefined;

/**
 * Our BM25 IDF over SciFact (title + " " + text), computed once per test run. Unseen tokens get the df = 0 weight
 * ('max-idf'), as the Python reference of test/fixtures/st (scripts/fixtures/make_st_fixtures.py) computed it.
 */
export function sciFactIdf(data: string): Promise<IdfTable> {
  scifactIdf ??= (async () => {
    const tokenizer = TextTokenizer.fromFile(path.join(data, 'bert-base-uncased', 'tokenizer.json'));
    async function* texts(): AsyncGenerator<string> {
      for await (const doc of readBeirCorpus(beirPaths(path.join(data, 'scifact'), 'test').corpus)) yield documentText(doc);
    }
    return computeIdf(texts(), tokenizer, { progress: false, unseen: 'max-idf' });
  })();
  return scifactIdf;
}

/** SciFact texts by id: documents as title + " " + text, queries as their text. */
export async function sciFactTexts(data: string, docIds: string[], queryIds: string[]): Promise<{ docs: string[]; queries: string[] }> {
  const wanted = new Set(docIds);
  const byId = new Map<string, string>();
  for await (const doc of readBeirCorpus(path.join(data, 'scifact', 'corpus.jsonl'))) if (wanted.has(doc.id)) byId.set(doc.id, documentText(doc));
  const queries = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(data, 'scifact', 'queries.jsonl'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const q = JSON.parse(line) as { _id: string; text: string };
    queries.set(q._id, q.text);
  }
  return { docs: docIds.map((id) => byId.get(id)!), queries: queryIds.map((id) => queries.get(id)!) };
}
