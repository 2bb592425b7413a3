import * as fs from 'fs';
import * as path from 'path';

/** A small real BEIR folder cut from SciFact: the judged docs of a few train and test queries plus some others. */
export function miniScifact(src: string, dest: string, trainQueries: number, testQueries: number, others: number): void {
  const read = (f: string) => fs.readFileSync(path.join(src, f), 'utf8');
  const qrels = (split: string, n: number) => {
    const lines = read(`qrels/${split}.tsv`).trim().split('\n');
    const keep = new Set<string>();
    const out = [lines[0]];
    for (const l of lines.slice(1)) {
      const q = l.split('\t')[0];
      if (!keep.has(q) && keep.size >= n) continue;
      keep.add(q);
      out.push(l);
    }
    return { text: out.join('\n') + '\n', queries: keep, docs: new Set(out.slice(1).map((l) => l.split('\t')[1])) };
  };
  const train = qrels('train', trainQueries);
  const test = qrels('test', testQueries);
  const judged = new Set([...train.docs, ...test.docs]);
  const corpus = read('corpus.jsonl').trim().split('\n');
  let extra = 0;
  const keptDocs = corpus.filter((l) => {
    const id = (JSON.parse(l) as { _id: string })._id;
    if (judged.has(id)) return true;
    return extra++ < others;
  });
  const queries = read('queries.jsonl').trim().split('\n')
    .filter((l) => { const id = (JSON.parse(l) as { _id: string })._id; return train.queries.has(id) || test.queries.has(id); });
  fs.mkdirSync(path.join(dest, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(dest, 'corpus.jsonl'), keptDocs.join('\n') + '\n');
  fs.writeFileSync(path.join(dest, 'queries.jsonl'), queries.join('\n') + '\n');
  fs.writeFileSync(path.join(dest, 'qrels', 'train.tsv'), train.text);
  fs.writeFileSync(path.join(dest, 'qrels', 'test.tsv'), test.text);
}
