/**
 * Collections with test judgments only (Cranfield, Vaswani/NPL): a seeded half of the judged queries becomes the
 * training split and the other half the test split, in a derived BEIR folder (corpus and queries linked, the two
 * qrels written), so that training and evaluation never share a query. Same seed, same split everywhere.
 */
import * as fs from 'fs';
import * as path from 'path';

import { beirPaths, readBeirQrels } from '../data/beir';
import { writeFileAtomic } from '../io';
import { seededPermutation } from '../train/schedule';

export interface QuerySplit {
  dir: string;
  trainQueries: number;
  testQueries: number;
}

/** Writes (or reuses, when it holds the same split) `out`: corpus.jsonl, queries.jsonl, qrels/train.tsv, qrels/test.tsv. */
export async function splitQueriesInHalf(source: string, out: string, seed: number): Promise<QuerySplit> {
  const paths = beirPaths(source, 'test');
  const qrels = await readBeirQrels(paths.qrels);
  const ids = [...qrels.keys()].filter((q) => [...qrels.get(q)!.values()].some((rel) => rel > 0)).sort();
  if (ids.length < 2) throw new Error(`${paths.qrels}: fewer than 2 judged queries, nothing to split`);
  const perm = seededPermutation(ids.length, seed);
  const half = Math.floor(ids.length / 2);
  const train = new Set(Array.from(perm.subarray(0, half), (i) => ids[i]));
  const qrelsText = (keep: (q: string) => boolean) => ['query-id\tcorpus-id\tscore',
    ...[...qrels].filter(([q]) => keep(q)).flatMap(([q, docs]) => [...docs].map(([d, rel]) => `${q}\t${d}\t${rel}`))].join('\n') + '\n';
  fs.mkdirSync(path.join(out, 'qrels'), { recursive: true });
  for (const name of ['corpus.jsonl', 'queries.jsonl']) {
    const target = path.join(out, name);
    if (!fs.existsSync(target)) fs.symlinkSync(path.resolve(source, name), target);
  }
  writeFileAtomic(path.join(out, 'qrels', 'train.tsv'), qrelsText((q) => train.has(q)));
  writeFileAtomic(path.join(out, 'qrels', 'test.tsv'), qrelsText((q) => !train.has(q) && ids.includes(q)));
  return { dir: out, trainQueries: train.size, testQueries: ids.length - train.size };
}
