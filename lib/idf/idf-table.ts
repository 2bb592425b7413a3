/**
 * The query-side weight table of inference-free sparse retrievers: idf.json maps WordPiece token strings
 * to weights, as in the published OpenSearch models (docs/METHOD.md §2). Tokens missing from the table weigh
 * `absentWeight` (1.0, the OpenSearch convention) when the table is turned into a vocabulary vector.
 */
import * as fs from 'fs';

import { writeFileAtomic } from '../io';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';

/** How many offending tokens an error message lists before summarising the rest. */
const LISTED_TOKENS = 10;

export class IdfTable {
  private constructor(private readonly weights: Map<string, number>) {}

  /** Builds a table from token → weight pairs; every weight must be a finite number. */
  static fromEntries(entries: Iterable<[string, number]>, what = 'idf'): IdfTable {
    const weights = new Map<string, number>();
    for (const [token, weight] of entries) {
      if (typeof weight !== 'number' || !Number.isFinite(weight)) {
        throw new TypeError(`${what}: the weight of token ${JSON.stringify(token)} is ${JSON.stringify(weight)}, not a finite number`);
      }
      weights.set(token, weight);
    }
    return new IdfTable(weights);
  }

  /** Parses idf.json text; `file` names the source in errors. */
  static parse(text: string, file: string): IdfTable {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`${file} must hold a JSON object mapping token strings to weights`);
    }
    return IdfTable.fromEntries(Object.entries(value as Record<string, unknown>) as [string, number][], file);
  }

  /** Reads idf.json; with a tokenizer, every token must be in its vocabulary. */
  static load(file: string, tokenizer?: TextTokenizer): IdfTable {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read idf table ${file}: ${(e as Error).message}`);
    }
    const table = IdfTable.parse(text, file);
    if (tokenizer) table.checkVocabulary(tokenizer, file);
    return table;
  }

  get size(): number {
    return this.weights.size;
  }

  get(token: string): number | undefined {
    return this.weights.get(token);
  }

  entries(): IterableIterator<[string, number]> {
    return this.weights.entries();
  }

  /** Throws naming `what` and the tokens that the tokenizer's vocabulary lacks. */
  checkVocabulary(tokenizer: TextTokenizer, what = 'idf table'): void {
    const unknown = [...this.weights.keys()].filter((t) => tokenizer.tokenToId(t) === undefined);
    if (unknown.length === 0) return;
    const listed = unknown.slice(0, LISTED_TOKENS).map((t) => JSON.stringify(t)).join(', ');
    const more = unknown.length > LISTED_TOKENS ? ` and ${unknown.length - LISTED_TOKENS} more` : '';
    throw new Error(`${what}: ${unknown.length} token(s) are not in the vocabulary of ${tokenizer.file}: ${listed}${more}`);
  }

  /** Weight per vocabulary id; ids whose token is absent get `absentWeight`. */
  toVector(tokenizer: TextTokenizer, absentWeight = 1.0): Float32Array {
    this.checkVocabulary(tokenizer);
    const vector = new Float32Array(tokenizer.vocabSize).fill(absentWeight);
    for (const [token, weight] of this.weights) vector[tokenizer.tokenToId(token) as number] = weight;
    return vector;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.weights);
  }

  /** Writes idf.json atomically (temp file + rename). */
  save(file: string): void {
    writeFileAtomic(file, JSON.stringify(this.toJSON()) + '\n');
  }
}
