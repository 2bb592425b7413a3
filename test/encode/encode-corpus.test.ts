import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { encodeCorpus } from '../../lib/encode';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { sharedData } from '../helpers';
import { hfModelDir, tempDir } from '../model/fixture-dirs';
import {
  RawDoc, VectorMap, csrFileVectors, directVectors, jsonlFileVectors, maxRelativeDiff, nonZeros, sciFactDocs, writeCorpus,
} from './corpus-fixture';

/** Top-k by weight, ties to the smaller column: OpenSearch's top_k, written out independently of the native pruner. */
function topK(map: VectorMap, k: number): VectorMap {
  const out: VectorMap = new Map();
  for (const [id, row] of map) {
    // Insertion into a short sorted list: columns are visited in increasing order, so a tie never displaces an earlier column.
    const best: number[] = [];
    for (let c = 0; c < row.length; c++) {
      if (!(row[c] > 0) || (best.length === k && row[c] <= row[best[k - 1]])) continue;
      let at = best.length;
      while (at > 0 && row[best[at - 1]] < row[c]) at--;
      best.splice(at, 0, c);
      if (best.length > k) best.pop();
    }
    const kept = new Float32Array(row.length);
    for (const c of best) kept[c] = row[c];
    out.set(id, kept);
  }
  return out;
}

describe('encode: encodeCorpus', function () {
  const data = sharedData();
  let work: string;
  let encoder: SparseEncoder;
  let docs: RawDoc[];
  let corpus: string;
  let truth: VectorMap;

  before(async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    work = tempDir('encode-corpus');
    encoder = await SparseEncoder.load(hfModelDir(data!, 'distilbert', path.join(work, 'model')));
    docs = sciFactDocs(data!, 90);
    corpus = writeCorpus(path.join(work, 'beir', 'corpus.jsonl'), docs);
    truth = await directVectors(encoder, docs);
  });
  after(() => {
    encoder?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('writes a CSR file equal to encoding the texts in one batch, each document once', async () => {
    const report = await encodeCorpus(encoder, path.join(work, 'beir'), {
      outputs: { csr: path.join(work, 'plain', 'v.csr') }, batchSize: 7, windowSize: 25, progress: false,
    });
    assert.equal(report.complete, true);
    assert.equal(report.docs, docs.length);
    assert.equal(report.encodedDocs, docs.length);
    assert.equal(report.batches, 3 * 4 + 3);  // windows of 25, 25, 25, 15 docs -> 4, 4, 4, 3 batches of at most 7
    const csr = csrFileVectors(report.outputs.csr!);
    assert.deepEqual([...csr.ids].sort(), docs.map((d) => d._id).sort());
    const diff = maxRelativeDiff(csr.map, truth);
    assert.ok(diff <= 1e-6, `CSR vs direct: ${diff}`);
    console.log(`      max relative difference to one-batch encoding: ${diff.toExponential(2)}`);
    const special = encoder.tokenizer.specialTokenIds;
    for (const row of csr.map.values()) for (const id of special) assert.equal(row[id], 0, 'special tokens are zeroed by default');
    let total = 0;
    for (const row of truth.values()) total += nonZeros(row);
    assert.equal(report.nnz.total, total);
    assert.ok(report.nnz.mean > 0 && report.docsPerSecond > 0);
    const record = JSON.parse(fs.readFileSync(report.outputs.progress, 'utf8')) as { complete: boolean; committed: { docs: number } };
    assert.deepEqual([record.complete, record.committed.docs], [true, docs.length]);
  });

  it('cuts batches by tokens with batchTokens: more, smaller batches, the same vectors', async () => {
    const report = await encodeCorpus(encoder, corpus, {
      outputs: { csr: path.join(work, 'tokens', 'v.csr') }, batchSize: 64, batchTokens: 200, windowSize: 45, progress: false,
    });
    assert.equal(report.docs, docs.length);
    // A window's batches hold at most 200 tokens each (a longer document alone): at least ceil(tokens / 200) per window.
    const lengths = (await encoder.tokenizer.encodeDocumentIds(docs.map((d) => `${d.title} ${d.text}`), encoder.maxLength, { allowEmpty: true })).map((r) => r.length);
    const perWindow = [lengths.slice(0, 45), lengths.slice(45)].map((w) => Math.ceil(w.reduce((a, b) => a + b, 0) / 200));
    assert.ok(report.batches >= perWindow[0] + perWindow[1], `${report.batches} batches`);
    assert.ok(maxRelativeDiff(csrFileVectors(report.outputs.csr!).map, truth) <= 1e-6);
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: { csr: path.join(work, 'tokens0', 'v.csr') }, batchTokens: 0, progress: false }),
      /batchTokens must be a positive integer, got 0/);
  });

  it('keeps special tokens on request, and refuses a bad prune spec before creating outputs', async () => {
    const keep = await encodeCorpus(encoder, corpus, {
      outputs: { csr: path.join(work, 'keep', 'v.csr') }, zeroSpecialTokens: false, batchSize: 8, progress: false,
    });
    const kept = csrFileVectors(keep.outputs.csr!).map;
    const keptTruth = await directVectors(encoder, docs, { zeroSpecialTokens: false });
    assert.ok(maxRelativeDiff(kept, keptTruth) <= 1e-6);
    const cls = encoder.tokenizer.specialId('[CLS]')!;
    assert.ok([...kept.values()].some((row) => row[cls] > 0), 'the random model gives [CLS] a weight somewhere');
  });

  it('prunes with top_k exactly and writes JSONL equal to the CSR file', async () => {
    const pruned = await encodeCorpus(encoder, corpus, {
      outputs: { csr: path.join(work, 'top5', 'v.csr'), jsonl: path.join(work, 'top5', 'v.jsonl') },
      prune: { type: 'top_k', value: 5 }, batchSize: 8, progress: false,
    });
    const csr = csrFileVectors(pruned.outputs.csr!);
    const jsonl = await jsonlFileVectors(pruned.outputs.jsonl!, encoder);
    assert.deepEqual(jsonl.ids, csr.ids);
    assert.equal(maxRelativeDiff(jsonl.map, csr.map), 0);  // float32 written as its shortest exact decimal
    const expected = topK(truth, 5);
    assert.ok(maxRelativeDiff(csr.map, expected) <= 1e-6);
    const keptOnOneSide: string[] = [];
    for (const [id, row] of csr.map) {
      const want = expected.get(id)!;
      for (let c = 0; c < row.length; c++) if ((row[c] > 0) !== (want[c] > 0)) keptOnOneSide.push(`${id}/${c}`);
    }
    assert.deepEqual(keptOnOneSide, [], 'the same columns are kept');
    assert.equal(pruned.nnz.max, 5);
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: { csr: path.join(work, 'bad', 'v.csr') }, prune: { type: 'top_k', value: 0 } }),
      /top_k: value 0.* positive integer/);
    assert.ok(!fs.existsSync(path.join(work, 'bad', 'v.csr')), 'a bad spec is refused before any output is created');
  });

  it('reports malformed lines by number with onBadLine skip, and stops at the first with fail', async () => {
    const lines = docs.slice(0, 12).map((d) => JSON.stringify(d));
    lines.splice(2, 0, '{"_id": "broken", "title": ');
    lines.splice(6, 0, '{"_id": "no-text", "title": "t"}');
    const file = path.join(work, 'bad-lines', 'corpus.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const warnings: string[] = [];
    const report = await encodeCorpus(encoder, file, {
      outputs: { csr: path.join(work, 'bad-lines', 'v.csr') }, onBadLine: 'skip', warn: (m) => warnings.push(m), progress: false,
    });
    assert.deepEqual(report.skippedLines.map((p) => p.line), [3, 7]);
    assert.match(report.skippedLines[0].reason, /invalid JSON/);
    assert.match(report.skippedLines[1].reason, /missing "text"/);
    assert.equal(warnings.length, 2);
    assert.equal(report.docs, 12);
    const got = csrFileVectors(report.outputs.csr!).map;
    assert.ok(maxRelativeDiff(got, new Map(docs.slice(0, 12).map((d) => [d._id, truth.get(d._id)!]))) <= 1e-6);

    await assert.rejects(encodeCorpus(encoder, file, { outputs: { csr: path.join(work, 'bad-lines', 'fail.csr') }, progress: false }),
      (e: Error) => e.message.startsWith(`${file}:3: invalid JSON`));
  });

  it('refuses duplicate document ids, in a file (with its line) and in given documents', async () => {
    const file = writeCorpus(path.join(work, 'dup', 'corpus.jsonl'), [docs[0], docs[1], docs[2], { ...docs[3], _id: docs[1]._id }]);
    await assert.rejects(encodeCorpus(encoder, file, { outputs: { csr: path.join(work, 'dup', 'v.csr') }, progress: false }),
      new RegExp(`corpus.jsonl:4: duplicate document id '${docs[1]._id}'`));
    const given = [{ id: 'a', text: 'alpha' }, { id: 'b', text: 'beta' }, { id: 'a', text: 'gamma' }];
    await assert.rejects(encodeCorpus(encoder, given, { outputs: { csr: path.join(work, 'dup', 'given.csr') }, progress: false }),
      /corpus document 2 has the id 'a' of document 0/);
    await assert.rejects(encodeCorpus(encoder, [{ id: '', text: 'x' }], { outputs: { csr: path.join(work, 'dup', 'empty-id.csr') }, progress: false }),
      /corpus document 0: id must be a non-empty string/);
  });

  it('encodes given documents (an iterable) like the same corpus file', async () => {
    async function* given(): AsyncGenerator<{ id: string; text: string }> {
      for (const d of docs.slice(0, 30)) yield { id: d._id, text: `${d.title} ${d.text}` };
    }
    const report = await encodeCorpus(encoder, given(), { outputs: { csr: path.join(work, 'given', 'v.csr') }, batchSize: 4, progress: false });
    assert.equal(report.input, 'documents');
    const got = csrFileVectors(report.outputs.csr!).map;
    assert.ok(maxRelativeDiff(got, new Map(docs.slice(0, 30).map((d) => [d._id, truth.get(d._id)!]))) <= 1e-6);
  });

  it('writes valid empty outputs for an empty corpus', async () => {
    const empty = writeCorpus(path.join(work, 'empty', 'corpus.jsonl'), []);
    fs.writeFileSync(empty, '\n');
    const report = await encodeCorpus(encoder, empty, { outputs: { csr: path.join(work, 'empty', 'v.csr'), jsonl: path.join(work, 'empty', 'v.jsonl') }, progress: false });
    assert.deepEqual([report.complete, report.docs, report.nnz.min], [true, 0, null]);
    assert.equal(csrFileVectors(report.outputs.csr!).ids.length, 0);
    assert.equal(fs.readFileSync(report.outputs.jsonl!, 'utf8'), '');
  });

  it('refuses to replace outputs unless told to, and checks its options', async () => {
    const csr = path.join(work, 'plain', 'v.csr');
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: { csr }, progress: false }), /v\.csr exists: resume the run/);
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: { csr }, mode: 'resume', batchSize: 8, progress: false }),
      /records a run with batchSize = 7, but this run has batchSize = 8/);
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: {}, progress: false }), /needs an output/);
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: { csr: path.join(work, 'x.csr') }, maxLength: 33 }), /maxLength must be an integer in \[2, 32\]/);
    await assert.rejects(encodeCorpus(encoder, corpus, { outputs: { csr: path.join(work, 'x.csr') }, batchSize: 0 }), /batchSize must be a positive integer/);
    await assert.rejects(encodeCorpus(encoder, path.join(work, 'nowhere'), { outputs: { csr: path.join(work, 'x.csr') } }), /corpus not found: .*nowhere/);
    const done = await encodeCorpus(encoder, corpus, { outputs: { csr }, mode: 'resume', batchSize: 7, windowSize: 25, progress: false });
    assert.deepEqual([done.complete, done.docs, done.encodedDocs], [true, docs.length, 0], 'resuming a finished run encodes nothing');
    const again = await encodeCorpus(encoder, docs.slice(0, 5).map((d) => ({ id: d._id, text: d.text })), { outputs: { csr }, mode: 'overwrite', progress: false });
    assert.equal(again.docs, 5);
  });
});
