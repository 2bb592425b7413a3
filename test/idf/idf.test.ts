import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { bm25Idf, computeIdf } from '../../lib/idf/compute-idf';
import { IdfTable } from '../../lib/idf/idf-table';
import { QueryEncoder } from '../../lib/query/query-encoder';
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
    // Special tokens are left out; this corpus uses every other vocabulary token.
    assert.equal(idf.size, 7);
    assert.equal(idf.get('[CLS]'), undefined);
  });

  it('leaves tokens no document contains out of the table, so queries weigh them 1.0; max-idf gives them ln(2N + 2)', async () => {
    // N = 4 documents; by hand: the in docs 0, 2, 3 (df 3); cat in 0, 1 (cat ##s), 3 (df 3); sat, ##s, mat df 1;
    // dog and on in none. idf = ln(1 + (N - df + 0.5)/(df + 0.5)): df 3 → ln(10/7), df 1 → ln(10/3), df 0 → ln(10).
    const corpus = ['the cat sat', 'cats', 'the mat', 'the the cat'];
    const seen: Record<string, number> = { the: Math.log(10 / 7), cat: Math.log(10 / 7), sat: Math.log(10 / 3), '##s': Math.log(10 / 3), mat: Math.log(10 / 3) };
    const close = (a: number | undefined, b: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-14, `${what}: ${a} vs ${b}`);

    const idf = await computeIdf(corpus, tiny.tokenizer, { progress: false, batchSize: 3 });
    assert.deepEqual([...idf.entries()].map(([t]) => t).sort(), Object.keys(seen).sort());
    for (const [token, w] of Object.entries(seen)) close(idf.get(token), w, token);
    // The query side: present tokens weigh their idf, the unseen dog and on 1.0 (METHOD.md §2), specials 0.
    const query = await QueryEncoder.fromIdf(tiny.tokenizer, idf).encode(['dog on the mat']);
    const weights = Object.fromEntries(Array.from(query.indices, (id, i) => [tiny.tokenizer.idToToken(id), query.values[i]]));
    assert.deepEqual(Object.keys(weights).sort(), ['dog', 'mat', 'on', 'the']);
    assert.equal(weights.dog, 1);
    assert.equal(weights.on, 1);
    close(weights.the, Math.fround(seen.the), 'the');
    close(weights.mat, Math.fround(seen.mat), 'mat');
    assert.equal(idf.toVector(tiny.tokenizer)[tiny.tokenizer.tokenToId('dog')!], 1);

    const max = await computeIdf(corpus, tiny.tokenizer, { progress: false, unseen: 'max-idf' });
    assert.equal(max.size, 7);
    close(max.get('dog'), Math.log(10), 'dog (max-idf)');
    close(max.get('on'), Math.log(10), 'on (max-idf)');
    for (const [token, w] of Object.entries(seen)) close(max.get(token), w, `${token} (max-idf)`);
    const maxQuery = QueryEncoder.fromIdf(tiny.tokenizer, max);
    close(maxQuery.weightOf(tiny.tokenizer.tokenToId('dog')!), Math.fround(Math.log(10)), 'dog query weight (max-idf)');

    await assert.rejects(computeIdf(corpus, tiny.tokenizer, { progress: false, unseen: 'zero' as never }), /unseen must be default-1 or max-idf, got "zero"/);
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
