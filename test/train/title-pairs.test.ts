/** Self-supervised (title → body) training groups of a BEIR folder (data.titlePairs, lib/train/data.ts). */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { readTrainingBeir } from '../../lib/train/data';
import { tempDir } from './native-trainer-fixture';

const DOCS = [
  { _id: 'd1', title: 'Aspirin lowers fever', text: 'Acetylsalicylic acid reduces body temperature in adults.' },
  { _id: 'd2', title: 'Fever in children', text: 'Paracetamol is preferred for fever in young children.' },
  { _id: 'd3', title: 'Aspirin and bleeding', text: 'Aspirin raises the risk of stomach bleeding.' },
  { _id: 'd4', title: '', text: 'A document without a title about fever and aspirin.' },
  { _id: 'd5', title: 'Untitled body', text: '   ' },
];

function beirFolder(): string {
  const dir = tempDir('title-pairs');
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), JSON.stringify({ _id: 'q1', text: 'does aspirin lower fever' }) + '\n');
  fs.mkdirSync(path.join(dir, 'qrels'));
  fs.writeFileSync(path.join(dir, 'qrels', 'train.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  return dir;
}

describe('training data: title → body pairs', () => {
  it('adds one group per titled document: title as query, its body first, other bodies from BM25 as negatives', async () => {
    const dir = beirFolder();
    const plain = await readTrainingBeir(dir, { split: 'train', negatives: 1, teacher: 'bm25' });
    assert.deepEqual(plain.groups.map((g) => g.queryId), ['q1']);
    const data = await readTrainingBeir(dir, { split: 'train', negatives: 1, teacher: 'bm25', titlePairs: true });
    const titled = data.groups.filter((g) => g.queryId.startsWith('title:'));
    // d4 has no title and d5 no body; d2's title "Fever in children" matches d1/d4 by "fever".
    assert.deepEqual(titled.map((g) => g.queryId).sort(), ['title:d1', 'title:d2', 'title:d3']);
    const body = new Map(DOCS.map((d) => [d._id, d.text]));
    for (const g of titled) {
      const id = g.queryId.slice('title:'.length);
      assert.equal(g.query, DOCS.find((d) => d._id === id)!.title);
      assert.equal(g.docIds![0], id);
      assert.equal(g.docs.length, 2);
      assert.notEqual(g.docIds![1], id);
      assert.deepEqual(g.docs, g.docIds!.map((d) => body.get(d)), 'bodies only, on both sides');
      assert.equal(g.scores!.length, 2);
      assert.ok(g.scores![0] >= g.scores![1], 'the document itself is the best BM25 hit of its own title');
    }
    // "Aspirin and bleeding": its best other hit shares "aspirin" (d1 or d4), not d2.
    assert.ok(['d1', 'd4'].includes(titled.find((g) => g.queryId === 'title:d3')!.docIds![1]));
    assert.equal(data.groupSize, 2);
    assert.equal(data.corpus.length, DOCS.length, 'the corpus is unchanged');
  });
});
