import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { csrFromRows } from '../../lib/sparse/csr';
import { shortestFloat32 } from '../../lib/sparse/float32';
import { JsonlVectorWriter, readJsonlVectors, readJsonlVectorsAll, writeJsonlVectors } from '../../lib/sparse/jsonl-vectors';
import { readVocabFile } from '../../lib/sparse/vocab';

const vocab = ['[PAD]', 'the', 'cat', '##s', 'sat', 'mat'];

describe('JSONL vectors', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-jsonl-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes {"id","vector":{token: weight}} lines and reads them back exactly', async () => {
    const csr = csrFromRows([[[2, 1.5], [4, 0.1]], [], [[1, 0.3333333432674408], [5, 2]]], 6);
    const file = path.join(dir, 'v.jsonl');
    writeJsonlVectors(file, csr, ['d1', 'd2', 'd3'], vocab);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.deepStrictEqual(JSON.parse(lines[0]), { id: 'd1', vector: { cat: 1.5, sat: 0.1 } });
    assert.deepStrictEqual(JSON.parse(lines[2]), { id: 'd3', vector: { the: 0.33333334, mat: 2 } });
    const back = await readJsonlVectorsAll(file, vocab);
    assert.deepStrictEqual(back.ids, ['d1', 'd2', 'd3']);
    assert.deepStrictEqual(back.csr, csr);
    const batches = [];
    for await (const b of readJsonlVectors(file, vocab, { batchSize: 2 })) batches.push(b.ids);
    assert.deepStrictEqual(batches, [['d1', 'd2'], ['d3']]);
    assert.strictEqual(shortestFloat32(0.1), 0.1);
  });

  it('appends batches with a streaming writer', async () => {
    const file = path.join(dir, 'w.jsonl');
    const w = new JsonlVectorWriter(file, vocab);
    w.append(csrFromRows([[[1, 1]]], 6), ['a']);
    w.append(csrFromRows([[[3, 2]]], 6), ['b']);
    w.close();
    assert.deepStrictEqual((await readJsonlVectorsAll(file, vocab)).ids, ['a', 'b']);
  });

  it('reports bad lines by number: fail stops, skip leaves them out and lists them', async () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, [
      '{"id": "a", "vector": {"cat": 1}}',
      '{"id": "b", "vector": {"dog": 1}}',
      'not json',
      '{"id": "a", "vector": {"the": 1}}',
      '{"id": "c", "vector": {"the": -1}}',
      '',
      '{"id": "d", "vector": {"sat": 2, "mat": 0}}',
      '{"id": "e", "vector": {"sat": 1e40}}',
    ].join('\n'));
    await assert.rejects(readJsonlVectorsAll(file, vocab), /bad\.jsonl:2: token 'dog' is not in the vocabulary/);
    const r = await readJsonlVectorsAll(file, vocab, { onError: 'skip' });
    assert.deepStrictEqual(r.ids, ['a', 'd']);
    assert.deepStrictEqual(r.skipped.map((s) => s.line), [2, 3, 4, 5, 8]);
    assert.match(r.skipped[4].reason, /fits a float32/);
    assert.match(r.skipped[2].reason, /duplicate id 'a'/);
    assert.deepStrictEqual([...r.csr.indices], [2, 4]);  // the explicit zero is dropped
  });

  it('reads vocab.txt', () => {
    const file = path.join(dir, 'vocab.txt');
    fs.writeFileSync(file, vocab.join('\n') + '\n');
    assert.deepStrictEqual(readVocabFile(file), vocab);
  });

  it('reads one vocabulary strictly: CRLF and a final newline pass; empty lines, repeats and gaps are errors', () => {
    const file = path.join(dir, 'vocab.txt');
    fs.writeFileSync(file, 'a\r\nb\r\n');
    assert.deepStrictEqual(readVocabFile(file), ['a', 'b']);
    fs.writeFileSync(file, 'a\n\nb\n');
    assert.throws(() => readVocabFile(file), /vocab\.txt: line 2 is empty/);
    fs.writeFileSync(file, 'a\nb\na\n');
    assert.throws(() => readVocabFile(file), /vocab\.txt: token 'a' appears twice \(lines 1 and 3\)/);
    fs.writeFileSync(file, '');
    assert.throws(() => readVocabFile(file), /vocab\.txt is empty/);
    assert.throws(() => readVocabFile(path.join(dir, 'missing.txt')), /cannot read vocabulary .*missing\.txt/);
    const json = path.join(dir, 'tokenizer.json');
    fs.writeFileSync(json, JSON.stringify({ model: { vocab: { a: 0, b: 2 } } }));
    assert.throws(() => readVocabFile(json), /tokenizer\.json: vocabulary has no token for id 1/);
    fs.writeFileSync(json, JSON.stringify({ model: { vocab: { a: 0, b: 1 } }, added_tokens: [{ id: 2, content: '[X]' }] }));
    assert.deepStrictEqual(readVocabFile(json), ['a', 'b', '[X]']);
  });
});
