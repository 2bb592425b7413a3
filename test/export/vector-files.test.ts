import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { DocVectorBatch } from '../../lib/export/doc-vectors';
import { newJsonlReadStats, readJsonlVectors, readJsonlVectorsAll } from '../../lib/sparse/jsonl-vectors';
import { readVocabFile } from '../../lib/sparse/vocab';
import { exportVectors } from '../../lib/export/vector-files';
import { csrFromRows } from '../../lib/sparse/csr';

const vocab = ['[PAD]', 'hello', 'world', '.', '##ing', 'a b', '__proto__', 'x'];

function batch(): DocVectorBatch {
  const rows: [number, number][][] = [
    [[1, 1.5], [2, 0.25], [3, 2]],          // '.' needs escaping
    [[4, NaN], [5, 0.004], [6, 3], [7, -1]], // NaN and -1 dropped; 'a b' fine for OpenSearch
    [[1, Infinity], [2, 0]],                  // nothing survives
  ];
  return { ids: ['d1', 'd2', 'd3'], csr: csrFromRows(rows, vocab.length) };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-export-'));
}

function readLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
}

describe('export: vector files', () => {
  it('writes OpenSearch bulk NDJSON for rank_features keyed by escaped token strings', async () => {
    const out = path.join(tmp(), 'docs.ndjson');
    const rep = await exportVectors([batch()], { format: 'opensearch-bulk', out, vocab, field: 'emb', index: 'idx' });
    const lines = readLines(out).map((l) => JSON.parse(l));
    assert.strictEqual(lines.length, 6);
    assert.deepStrictEqual(lines[0], { index: { _index: 'idx', _id: 'd1' } });
    assert.deepStrictEqual(lines[1], { emb: { hello: 1.5, world: 0.25, '%2E': 2 } });
    assert.deepStrictEqual(Object.keys(lines[3].emb), ['a b', '__proto__']);
    assert.strictEqual(lines[3].emb.__proto__, 3);
    assert.strictEqual(lines[3].emb['a b'], 0.004);
    assert.deepStrictEqual(lines[5], { emb: {} });
    assert.deepStrictEqual(rep.drops, { nonFinite: 2, nonPositive: 2, badKey: 0, pruned: 0, quantizedToZero: 0, emptyDocs: 1 });
    assert.strictEqual(rep.docs, 3);
    assert.strictEqual(rep.entries, 5);
  });

  it('writes sparse_vector bulk NDJSON keyed by token ids, with pruning counted', async () => {
    const out = path.join(tmp(), 'docs.ndjson');
    const rep = await exportVectors([batch()], { format: 'opensearch-bulk', fieldType: 'sparse_vector', out, field: 'sv', prune: { type: 'top_k', value: 1 } });
    const lines = readLines(out).map((l) => JSON.parse(l));
    assert.deepStrictEqual(lines[0], { index: { _id: 'd1' } });
    assert.deepStrictEqual(lines[1], { sv: { 3: 2 } });
    assert.deepStrictEqual(lines[3], { sv: { 6: 3 } });
    assert.strictEqual(rep.drops.pruned, 3);
  });

  it('writes Anserini JsonVectorCollection lines with integer impacts', async () => {
    const out = path.join(tmp(), 'anserini.jsonl');
    const rep = await exportVectors([batch()], { format: 'anserini', out, vocab, keyPolicy: 'keep' });
    const lines = readLines(out).map((l) => JSON.parse(l));
    assert.deepStrictEqual(lines[0], { id: 'd1', contents: '', vector: { hello: 150, world: 25, '.': 200 } });
    // 'a b' would split Anserini's pseudo-document: dropped as a bad key; 0.004 * 100 rounds to 0.
    assert.deepStrictEqual(lines[1], JSON.parse('{"id":"d2","contents":"","vector":{"__proto__":300}}'));
    assert.deepStrictEqual(Object.keys(lines[1].vector), ['__proto__']);
    assert.strictEqual(rep.drops.badKey, 1);
    assert.strictEqual(rep.drops.quantizedToZero, 0);
    const rep2 = await exportVectors([batch()], { format: 'anserini', out, vocab, keyPolicy: 'keep', anseriniScale: 1 });
    assert.strictEqual(rep2.drops.quantizedToZero, 1); // world: round(0.25) = 0
    assert.deepStrictEqual(JSON.parse(readLines(out)[0]).vector, { hello: 2, '.': 2 });
  });

  it('writes Seismic JSONL with ordinal integer ids and a sidecar of the original ids', async () => {
    const out = path.join(tmp(), 'seismic.jsonl');
    const rep = await exportVectors([batch(), batch()], { format: 'seismic', out, vocab, keyPolicy: 'keep' });
    const lines = readLines(out).map((l) => JSON.parse(l));
    assert.strictEqual(lines.length, 6);
    assert.deepStrictEqual(lines[0], { id: 0, vector: { hello: 1.5, world: 0.25, '.': 2 } });
    assert.strictEqual(lines[4].id, 4);
    assert.deepStrictEqual(readLines(rep.idsOut!), ['d1', 'd2', 'd3', 'd1', 'd2', 'd3']);
  });

  it('leaves no output behind when the export fails midway', async () => {
    const dir = tmp();
    const out = path.join(dir, 'x.ndjson');
    const bad: DocVectorBatch = { ids: ['x'.repeat(600)], csr: csrFromRows([[[1, 1]]], vocab.length) };
    await assert.rejects(exportVectors([batch(), bad], { format: 'opensearch-bulk', out, vocab }), /512/);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });

  it('reads doc-vector JSONL back into CSR batches, counting unknown keys', async () => {
    const dir = tmp();
    const file = path.join(dir, 'v.jsonl');
    fs.writeFileSync(file, ['{"id":"a","vector":{"hello":1,"nope":2}}', '', '{"_id":7,"vector":{"world":"0.5","x":1}}'].join('\n'));
    const stats = newJsonlReadStats();
    const batches = [];
    for await (const b of readJsonlVectors(file, vocab, { keys: 'token', batchSize: 1, lenient: stats })) batches.push(b);
    assert.strictEqual(batches.length, 2);
    assert.deepStrictEqual(batches[1].ids, ['7']);
    assert.deepStrictEqual([...batches[1].csr.indices], [2, 7]);
    assert.deepStrictEqual([...batches[1].csr.values], [0.5, 1]);
    assert.deepStrictEqual(stats, { docs: 2, unknownKeys: 1, unknownExamples: ['nope'] });
  });

  it('reads doc-vector JSONL keyed by vocabulary ids, counting ids outside the vocabulary', async () => {
    const file = path.join(tmp(), 'ids.jsonl');
    fs.writeFileSync(file, '{"id":"a","vector":{"1":1,"8":2,"x":3}}\n');
    const stats = newJsonlReadStats();
    const batches = [];
    for await (const b of readJsonlVectors(file, vocab, { keys: 'id', batchSize: 10, lenient: stats })) batches.push(b);
    assert.deepStrictEqual([...batches[0].csr.indices], [1]);
    assert.deepStrictEqual(stats, { docs: 1, unknownKeys: 2, unknownExamples: ['8', 'x'] });
    await assert.rejects(readJsonlVectorsAll(file, vocab, {}), /ids\.jsonl:1: token '1' is not in the vocabulary/);
  });

  it('reads vocabularies from vocab.txt and tokenizer.json', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\nhello\r\n.\n');
    assert.deepStrictEqual(readVocabFile(path.join(dir, 'vocab.txt')), ['[PAD]', 'hello', '.']);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: { hello: 1, '[PAD]': 0, '.': 2 } } }));
    assert.deepStrictEqual(readVocabFile(path.join(dir, 'tokenizer.json')), ['[PAD]', 'hello', '.']);
  });
});
