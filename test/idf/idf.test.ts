import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { bm25Idf, computeIdf } from '../../lib/idf/compute-idf';
import { IdfTable } from '../../lib/idf/idf-table';
import { withTinyTokenizer } from './tiny-vocab';

describe('idf: BM25 IDF over WordPiece tokens and idf.json', () => {
  const tiny = withTinyTokenizer();
  after(() => tiny.cleanup());

  it('bm25Idf is ln(1 + (N - df + 0.5)/(df + 0.5))', () => {
    assert.equal(bm25Idf(3, 2), Math.log(1.6));
    assert.ok(Math.abs(bm25Idf(1000, 10) - Math.log(1 + 990.5 / 10.5)) < 1e-15);
  });

  it('computes hand-checked weights on a three-document corpus (df counts documents, not occurrences)', async () => {
    // doc0: the cat sat | doc1: the dog sat on the mat | doc2: cat ##s
    const idf = await computeIdf(['The cat sat', 'the dog sat on THE mat', 'cats'], tiny.tokenizer, { progress: false });
    const df2 = Math.log(1 + 1.5 / 2.5); const df1 = Math.log(1 + 2.5 / 1.5);
    const expected: Record<string, number> = { the: df2, cat: df2, dog: df1, sat: df2, on: df1, mat: df1, '##s': df1 };
    for (const [token, weight] of Object.entries(expected)) assert.ok(Math.abs(idf.get(token)! - weight) < 1e-15, token);
    // Special tokens are left out; with includeUnseen (default) every other vocabulary token is present.
    assert.equal(idf.size, 7);
    assert.equal(idf.get('[CLS]'), undefined);
  });

  it('gives unseen tokens the df = 0 weight, or leaves them out on request', async () => {
    const all = await computeIdf(['the cat', 'the'], tiny.tokenizer, { progress: false, batchSize: 1 });
    assert.ok(Math.abs(all.get('dog')! - Math.log(1 + 2.5 / 0.5)) < 1e-15);
    assert.ok(Math.abs(all.get('the')! - Math.log(1 + 0.5 / 2.5)) < 1e-15);
    const seen = await computeIdf(['the cat', 'the'], tiny.tokenizer, { progress: false, includeUnseen: false });
    assert.deepEqual([...seen.entries()].map(([t]) => t).sort(), ['cat', 'the']);
    await assert.rejects(computeIdf([], tiny.tokenizer, { progress: false }), /empty corpus/);
  });

  it('saves and loads idf.json atomically and checks tokens against the vocabulary', () => {
    const file = path.join(tiny.dir, 'idf.json');
    IdfTable.fromEntries([['the', 0.25], ['cat', 3.5]]).save(file);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { the: 0.25, cat: 3.5 });
    assert.deepEqual(fs.readdirSync(tiny.dir).filter((f) => f.endsWith('.tmp')), []);
    const loaded = IdfTable.load(file, tiny.tokenizer);
    assert.equal(loaded.get('cat'), 3.5);
    const vector = loaded.toVector(tiny.tokenizer);
    assert.deepEqual([...vector], [1, 1, 1, 1, 1, 0.25, 3.5, 1, 1, 1, 1, 1]);
  });

  it('rejects bad idf.json files naming the file and the tokens', () => {
    const file = path.join(tiny.dir, 'bad-idf.json');
    fs.writeFileSync(file, JSON.stringify({ the: 1, zebra: 2, 'ü': 3 }));
    assert.throws(() => IdfTable.load(file, tiny.tokenizer), /bad-idf\.json: 2 token\(s\) are not in the vocabulary of .*vocab\.txt: "zebra", "ü"/);
    fs.writeFileSync(file, JSON.stringify({ the: '1' }));
    assert.throws(() => IdfTable.load(file), /bad-idf\.json: the weight of token "the" is "1", not a finite number/);
    fs.writeFileSync(file, '[1, 2]');
    assert.throws(() => IdfTable.load(file), /bad-idf\.json must hold a JSON object/);
    fs.writeFileSync(file, '{"the": ');
    assert.throws(() => IdfTable.load(file), /bad-idf\.json is not valid JSON/);
    assert.throws(() => IdfTable.load(path.join(tiny.dir, 'missing.json')), /cannot read idf table .*missing\.json/);
  });
});
