/**
 * Vocabularies that map column ids to token strings (and back) for JSONL vectors, rank_features, the
 * exporters and the BERT WordPiece tokenizer. This is the one vocabulary reader of the package.
 */
import * as fs from 'fs';

/**
 * Reads a vocabulary: id -> token string. A BERT vocab.txt (one token per line, line number = column id;
 * a final newline and CRLF line ends are accepted) or, for a file named *.json, a tokenizer.json's
 * model.vocab map (WordPiece/WordLevel) plus its added_tokens. Strict, because a vocabulary that maps one
 * token to two ids, or an id to nothing, would silently misplace weights: an unreadable or empty file, an
 * empty line, a token listed twice and an id without a token are errors naming the file (and line).
 */
export function readVocabFile(path: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read vocabulary ${path}: ${(e as Error).message}`);
  }
  return path.endsWith('.json') ? vocabFromTokenizerJson(text, path) : vocabFromTxt(text, path);
}

function vocabFromTxt(text: string, path: string): string[] {
  const tokens = text.split('\n');
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
  if (tokens.length === 0) throw new Error(`${path} is empty: a vocab.txt has one token per line`);
  const seen = new Map<string, number>();
  tokens.forEach((raw, id) => {
    const token = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    tokens[id] = token;
    if (token.length === 0) throw new Error(`${path}: line ${id + 1} is empty`);
    const first = seen.get(token);
    if (first !== undefined) throw new Error(`${path}: token '${token}' appears twice (lines ${first + 1} and ${id + 1})`);
    seen.set(token, id);
  });
  return tokens;
}

function vocabFromTokenizerJson(text: string, path: string): string[] {
  let json: { model?: { vocab?: Record<string, number> | [string, number][] }; added_tokens?: { id: number; content: string }[] };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (e) {
    throw new Error(`${path} is not a valid tokenizer.json: ${(e as Error).message}`);
  }
  const vocab = json?.model?.vocab;
  if (!vocab || Array.isArray(vocab)) throw new Error(`${path}: expected a WordPiece/WordLevel tokenizer.json with a model.vocab map`);
  const out: string[] = [];
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new Error(`${path}: token '${token}' has id ${id}, not an integer >= 0`);
    if (out[id] !== undefined) throw new Error(`${path}: tokens '${out[id]}' and '${token}' share id ${id}`);
    out[id] = token;
  }
  for (const t of json.added_tokens ?? []) out[t.id] ??= t.content;
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) throw new Error(`${path}: vocabulary has no token for id ${i}`);
  if (out.length === 0) throw new Error(`${path}: model.vocab is empty`);
  return out;
}

/** token -> column id; a token listed twice keeps its first id (a vocabulary read by readVocabFile has none). */
export function tokenToId(vocab: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  vocab.forEach((token, i) => { if (!map.has(token)) map.set(token, i); });
  return map;
}
