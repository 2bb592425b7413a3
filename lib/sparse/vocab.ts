/** Vocabularies that map column ids to token strings (and back) for JSONL vectors and rank_features. */
import * as fs from 'fs';

/** vocab.txt (one token per line, line number = column id, as BERT WordPiece ships it). */
export function readVocabFile(path: string): string[] {
  const text = fs.readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** token -> column id; a token listed twice keeps its first id. */
export function tokenToId(vocab: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  vocab.forEach((token, i) => { if (!map.has(token)) map.set(token, i); });
  return map;
}
