/**
 * The one tokenizer type of l0sparse: a HF `tokenizers` Tokenizer (from tokenizer.json, or built from a
 * BERT-uncased vocab.txt) plus the id/token maps and special-token ids the encoders need.
 * Documents are encoded with special tokens, truncated to a max length and padded to the batch's longest;
 * queries are encoded without special tokens (the inference-free query side of docs/METHOD.md §2).
 */
import * as fs from 'fs';
import * as path from 'path';

import { Tokenizer } from 'tokenizers';

import { BERT_SPECIAL_TOKENS, buildBertUncasedTokenizer, readBertVocab } from './bert-vocab';
import { DocumentBatch, padRows } from './padding';
import { checkTexts, TextCheckOptions } from './texts';

export type { DocumentBatch } from './padding';

export type TokenizerSource = 'tokenizer.json' | 'vocab.txt';

export class TextTokenizer {
  /** id → token string, for decoding sparse vectors. */
  private readonly tokens: string[];
  private readonly ids: Map<string, number>;
  /** Serialises calls that change the shared truncation setting of the native tokenizer. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly inner: Tokenizer,
    /** The file it was loaded from. */
    readonly file: string,
    readonly source: TokenizerSource,
    /** Ids of the special tokens (sorted, unique): zeroed in vectors, never counted as words. */
    readonly specialTokenIds: Int32Array,
  ) {
    const vocab = inner.getVocab(true);
    this.ids = new Map(Object.entries(vocab));
    const size = inner.getVocabSize(true);
    this.tokens = new Array<string>(size);
    for (const [token, id] of this.ids) {
      if (id < 0 || id >= size) throw new Error(`${file}: token '${token}' has id ${id} outside [0, ${size})`);
      this.tokens[id] = token;
    }
    for (let id = 0; id < size; id++) {
      if (this.tokens[id] === undefined) throw new Error(`${file}: no token has id ${id} (ids must be 0..${size - 1} without gaps)`);
    }
    inner.disableTruncation();
    inner.disablePadding();
  }

  /** Loads tokenizer.json (HF fast-tokenizer file) or vocab.txt (BERT uncased), chosen by the file name. */
  static fromFile(file: string): TextTokenizer {
    if (!fs.existsSync(file)) throw new Error(`tokenizer file ${file} does not exist`);
    if (path.basename(file).endsWith('.txt')) {
      const vocab = readBertVocab(file);
      const special = BERT_SPECIAL_TOKENS.map((t) => vocab.indexOf(t)).filter((id) => id >= 0);
      return new TextTokenizer(buildBertUncasedTokenizer(vocab), file, 'vocab.txt', sortedUnique(special));
    }
    let json: { added_tokens?: { id: number; content: string; special?: boolean }[] };
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof json;
    } catch (e) {
      throw new Error(`${file} is not a valid tokenizer.json: ${(e as Error).message}`);
    }
    let inner: Tokenizer;
    try {
      inner = Tokenizer.fromFile(file);
    } catch (e) {
      throw new Error(`${file} is not a tokenizer the HF tokenizers library can load: ${(e as Error).message}`);
    }
    const special = (json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id);
    return new TextTokenizer(inner, file, 'tokenizer.json', sortedUnique(special));
  }

  /** A model dir's tokenizer: tokenizer.json when present, else vocab.txt. */
  static fromDir(dir: string): TextTokenizer {
    for (const name of ['tokenizer.json', 'vocab.txt']) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return TextTokenizer.fromFile(file);
    }
    throw new Error(`${dir} has neither tokenizer.json nor vocab.txt`);
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  idToToken(id: number): string {
    const token = this.tokens[id];
    if (token === undefined) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.tokens.length})`);
    return token;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Id of a named special token ('[PAD]', '[CLS]', ...) or undefined when the vocabulary lacks it. */
  specialId(token: string): number | undefined {
    const id = this.ids.get(token);
    return id !== undefined && this.isSpecial(id) ? id : undefined;
  }

  isSpecial(id: number): boolean {
    let lo = 0; let hi = this.specialTokenIds.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.specialTokenIds[mid];
      if (v === id) return true;
      if (v < id) lo = mid + 1; else hi = mid - 1;
    }
    return false;
  }

  /**
   * Documents: special tokens added, truncated to maxLength (special tokens included, as transformers
   * does), padded with padId to the longest row of this batch.
   */
  async encodeDocuments(texts: string[], maxLength: number, opts: TextCheckOptions & { padId?: number } = {}): Promise<DocumentBatch> {
    const rows = await this.encodeDocumentIds(texts, maxLength, opts);
    return padRows(rows, opts.padId ?? this.specialId('[PAD]') ?? 0);
  }

  /** Documents as unpadded id rows (special tokens added, truncated to maxLength), e.g. to sort by length. */
  async encodeDocumentIds(texts: string[], maxLength: number, opts: TextCheckOptions = {}): Promise<number[][]> {
    checkTexts(texts, 'texts', opts);
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`maxLength must be an integer ≥ 2, got ${maxLength}`);
    const encodings = await this.exclusive(async () => {
      this.inner.setTruncation(maxLength);
      try {
        return await this.inner.encodeBatch(texts, { addSpecialTokens: true });
      } finally {
        this.inner.disableTruncation();
      }
    });
    return encodings.map((e) => e.getIds());
  }

  /** Queries: token ids without special tokens and without truncation, one array per text. */
  async encodeQueries(texts: string[], opts: TextCheckOptions = {}): Promise<number[][]> {
    checkTexts(texts, 'texts', opts);
    const encodings = await this.exclusive(() => this.inner.encodeBatch(texts, { addSpecialTokens: false }));
    return encodings.map((e) => e.getIds());
  }

  /** WordPiece token strings of one text, without special tokens (what Anserini's *.wp topics hold). */
  async tokenize(text: string): Promise<string[]> {
    const [ids] = await this.encodeQueries([text], { allowEmpty: true });
    return ids.map((id) => this.idToToken(id));
  }

  /** Writes the tokenizer as tokenizer.json (HF format) to `file`. */
  saveTokenizerJson(file: string): void {
    this.inner.save(file, false);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function sortedUnique(ids: number[]): Int32Array {
  return Int32Array.from(new Set(ids)).sort();
}
