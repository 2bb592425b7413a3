import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { encodeCorpus } from '../../lib/encode';
import type { EncodeCorpusOptions } from '../../lib/encode';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { csrFromRows } from '../../lib/sparse/csr';
import { CsrFileWriter } from '../../lib/sparse/csr-file';
import { sharedData } from '../helpers';
import { hfModelDir, tempDir } from '../model/fixture-dirs';
import { RawDoc, VectorMap, csrFileVectors, jsonlFileVectors, maxRelativeDiff, sciFactDocs, writeCorpus } from './corpus-fixture';
import { RESUME_SETTINGS } from './resume-settings';

interface Outputs { csr: string; jsonl: string }

describe('encode: resuming an interrupted corpus encoding', function () {
  const data = sharedData();
  let work: string;
  let modelDir: string;
  let encoder: SparseEncoder;
  let docs: RawDoc[];
  let corpus: string;
  let reference: VectorMap;
  let runs = 0;

  const outputsIn = (name: string): Outputs => ({ csr: path.join(work, name, 'v.csr'), jsonl: path.join(work, name, 'v.jsonl') });
  const run = (outputs: Partial<Outputs>, extra: Partial<EncodeCorpusOptions> = {}) =>
    encodeCorpus(encoder, corpus, { ...RESUME_SETTINGS, outputs, progress: false, ...extra });
  /** Stops a run cleanly after `batches` committed batches (the batch in flight then is committed too). */
  const interrupted = async (outputs: Partial<Outputs>, batches: number) => {
    const stop = new AbortController();
    return run(outputs, { signal: stop.signal, onBatch: (s) => { if (s.batches >= batches) stop.abort(); } });
  };
  /** Both outputs hold every document exactly once, with the vectors of the uninterrupted run (bit for bit). */
  const assertLikeUninterrupted = async (outputs: Partial<Outputs>) => {
    if (outputs.csr) {
      const csr = csrFileVectors(outputs.csr);
      assert.equal(new Set(csr.ids).size, csr.ids.length, 'no document twice in the CSR file');
      assert.equal(maxRelativeDiff(csr.map, reference), 0);
    }
    if (outputs.jsonl) {
      const jsonl = await jsonlFileVectors(outputs.jsonl, encoder);
      assert.equal(new Set(jsonl.ids).size, jsonl.ids.length, 'no document twice in the JSONL file');
      assert.equal(maxRelativeDiff(jsonl.map, reference), 0);
    }
  };

  before(async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    work = tempDir('encode-resume');
    modelDir = hfModelDir(data!, 'distilbert', path.join(work, 'model'));
    encoder = await SparseEncoder.load(modelDir);
    docs = sciFactDocs(data!, 60);
    corpus = writeCorpus(path.join(work, 'corpus.jsonl'), docs);
    const whole = await run(outputsIn('reference'));
    assert.equal(whole.batches, 12);
    reference = csrFileVectors(whole.outputs.csr!).map;
  });
  beforeEach(() => { runs++; });
  after(() => {
    encoder?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('continues a stopped run with no document lost or repeated, equal to an uninterrupted run', async () => {
    const outputs = outputsIn(`stopped-${runs}`);
    const first = await interrupted(outputs, 2);
    assert.equal(first.complete, false);
    assert.equal(first.docs, 15, '2 batches + the one in flight when the stop came, 5 documents each');
    assert.equal(csrFileVectors(outputs.csr).ids.length, 15);
    assert.equal((await jsonlFileVectors(outputs.jsonl, encoder)).ids.length, 15);
    await assert.rejects(run(outputs), /exists: resume the run/);
    const second = await run(outputs, { mode: 'resume' });
    assert.deepEqual([second.complete, second.resumedDocs, second.encodedDocs, second.docs], [true, 15, 45, 60]);
    assert.deepEqual(second.truncatedBytes, { csr: 0, jsonl: 0 });
    await assertLikeUninterrupted(outputs);
  });

  it('cuts off batches written after the last progress record and torn tails (a crash mid-write)', async () => {
    const outputs = outputsIn(`torn-${runs}`);
    await interrupted(outputs, 3);
    const committed = { csr: fs.statSync(outputs.csr).size, jsonl: fs.statSync(outputs.jsonl).size };
    // A whole batch that reached both files but not the progress record, then half-written bytes.
    const uncommitted = docs.slice(50, 52).map((d) => d._id);
    const fake = csrFromRows([[[7, 1]], [[9, 2]]], encoder.vocabSize);
    const writer = CsrFileWriter.open(outputs.csr, { numCols: encoder.vocabSize, mode: 'resume' });
    writer.append(fake, uncommitted);
    writer.close();
    fs.appendFileSync(outputs.csr, Buffer.from('BTCH\x05\x00\x00\x00partial record', 'latin1'));
    fs.appendFileSync(outputs.jsonl, uncommitted.map((id) => `{"id":"${id}","vector":{"the":1}}\n`).join('') + '{"id":"half", "vec');
    const written = { csr: fs.statSync(outputs.csr).size, jsonl: fs.statSync(outputs.jsonl).size };
    const resumed = await run(outputs, { mode: 'resume' });
    assert.deepEqual(resumed.truncatedBytes, { csr: written.csr - committed.csr, jsonl: written.jsonl - committed.jsonl });
    assert.equal(resumed.resumedDocs, 20);
    await assertLikeUninterrupted(outputs);
  });

  it('recovers from kill -9 of the encoding process while a batch is being encoded', async () => {
    const outputs = outputsIn(`killed-${runs}`);
    const child = spawnSync(process.execPath, [path.join(__dirname, 'kill-child.js'), modelDir, corpus, outputs.csr, outputs.jsonl, '5'],
      { encoding: 'utf8', timeout: 60000 });
    assert.equal(child.signal, 'SIGKILL', `the child should have been killed: status ${child.status}, stderr ${child.stderr}`);
    const record = JSON.parse(fs.readFileSync(`${outputs.csr}.progress.json`, 'utf8')) as { complete: boolean; committed: { docs: number } };
    assert.deepEqual([record.complete, record.committed.docs], [false, 25]);
    const resumed = await run(outputs, { mode: 'resume' });
    assert.deepEqual([resumed.complete, resumed.resumedDocs, resumed.docs], [true, 25, 60]);
    await assertLikeUninterrupted(outputs);
  });

  it('commits the batches before a malformed line that stops the run, and resumes with the line skipped', async () => {
    const outputs = outputsIn(`bad-line-${runs}`);
    const lines = docs.map((d) => JSON.stringify(d));
    lines.splice(30, 0, '{"_id": "torn');
    const file = path.join(work, `bad-line-${runs}`, 'corpus.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const settings = { ...RESUME_SETTINGS, outputs, progress: false };
    await assert.rejects(encodeCorpus(encoder, file, settings), (e: Error) => e.message.startsWith(`${file}:31: invalid JSON`));
    const record = JSON.parse(fs.readFileSync(`${outputs.csr}.progress.json`, 'utf8')) as { complete: boolean; committed: { docs: number } };
    assert.deepEqual([record.complete, record.committed.docs], [false, 20], 'the first window, read before the bad line');
    const resumed = await encodeCorpus(encoder, file, { ...settings, mode: 'resume', onBadLine: 'skip', warn: () => undefined });
    assert.deepEqual([resumed.complete, resumed.resumedDocs, resumed.docs, resumed.skippedLines.map((p) => p.line)], [true, 20, 60, [31]]);
    await assertLikeUninterrupted(outputs);
  });

  it('resumes a JSONL-only run from the ids in the JSONL file', async () => {
    const jsonl = path.join(work, `jsonl-only-${runs}`, 'v.jsonl');
    await interrupted({ jsonl }, 6);
    const resumed = await run({ jsonl }, { mode: 'resume' });
    assert.deepEqual([resumed.resumedDocs, resumed.docs], [35, 60]);
    await assertLikeUninterrupted({ jsonl });
  });

  it('refuses to resume when the input changed or no progress record says what is committed', async () => {
    const outputs = outputsIn(`changed-${runs}`);
    await interrupted(outputs, 2);
    const changed = writeCorpus(path.join(work, `changed-${runs}`, 'corpus.jsonl'), docs.slice(1));
    await assert.rejects(encodeCorpus(encoder, changed, { ...RESUME_SETTINGS, outputs, mode: 'resume', progress: false }),
      /records a run with input = .*corpus\.jsonl/);
    fs.writeFileSync(corpus, docs.slice(1).map((d) => JSON.stringify(d)).join('\n') + '\n');
    try {
      await assert.rejects(run(outputs, { mode: 'resume' }), /the input changed since the interrupted run/);
    } finally {
      writeCorpus(corpus, docs);
    }
    fs.rmSync(`${outputs.csr}.progress.json`);
    await assert.rejects(run(outputs, { mode: 'resume' }), /there is no progress record .*start over with overwrite/);
  });
});
