/**
 * Child process of kill9-index.test.ts: builds a deterministic index of <docs> documents, prints "built",
 * then saves it to <path> over and over (printing "saved N" after each) until it is killed.
 * Usage: node index-save-child.js <path> <docs>
 */
import * as fs from 'fs';

import { rng } from '../helpers';
import { SparseIndex } from '../../lib/index/sparse-index';

export const NUM_COLS = 30000;

export function makeIndexRows(docs: number): { indptr: Int32Array; indices: Int32Array; values: Float32Array; ids: string[] } {
  const next = rng(11);
  const perDoc = 40;
  const indptr = new Int32Array(docs + 1);
  const indices = new Int32Array(docs * perDoc);
  const values = new Float32Array(docs * perDoc);
  for (let d = 0; d < docs; d++) {
    const cols = new Set<number>();
    while (cols.size < perDoc) cols.add(Math.floor(next() * NUM_COLS));
    [...cols].sort((a, b) => a - b).forEach((c, j) => { indices[d * perDoc + j] = c; values[d * perDoc + j] = 0.1 + next(); });
    indptr[d + 1] = (d + 1) * perDoc;
  }
  return { indptr, indices, values, ids: Array.from({ length: docs }, (_, d) => `doc-${d}`) };
}

async function main(): Promise<void> {
  const [file, docs] = process.argv.slice(2);
  const rows = makeIndexRows(Number(docs));
  const index = new SparseIndex(NUM_COLS);
  index.add({ indptr: rows.indptr, indices: rows.indices, values: rows.values, numCols: NUM_COLS }, rows.ids);
  await index.build();
  fs.writeSync(1, 'built\n');
  for (let i = 0; ; i++) {
    await index.save(file);
    fs.writeSync(1, `saved ${i}\n`);
  }
}

if (require.main === module) main().catch((e: Error) => { process.stderr.write(`${e.stack}\n`); process.exit(3); });
