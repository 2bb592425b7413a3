import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';

import { buildProgram } from '../../lib/cli/main';
import { encodeCorpus, mergeShards, readProgressRecord } from '../../lib/encode';
import type { OutputPaths, ProgressRecord } from '../../lib/encode';
import { writeProgressRecord } from '../../lib/encode/progress-record';
import { finalRun } from '../../lib/encode/sharded-encode';
import { shardIdentity, shardName, shardOutputPaths, shardProgressFile, windowOwner } from '../../lib/encode/shard-layout';
import { waitForShards } from '../../lib/encode/shard-wait';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { RankFailedError, launchLocal } from '../../lib/launch/local-launch';
import { getNumThreads, setNumThreads } from '../../lib/native/threads';
import { csrFromRows } from '../../lib/sparse/csr';
import { CsrFileWriter, readCsrFile } from '../../lib/sparse/csr-file';
import { sharedData } from '../helpers';
import { hfModelDir, tempDir } from '../model/fixture-dirs';
import { RawDoc, sciFactDocs, writeCorpus } from './corpus-fixture';
import { SHARDED_CLI_ARGS, SHARDED_SETTINGS } from './sharded-settings';

const CLI = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');

describe('encode: shard assignment', () => {
  it('gives every window to exactly one rank (a partition), round-robin and balanced', () => {
    for (let count = 1; count <= 5; count++) {
      for (let windows = 0; windows <= 23; windows++) {
        const byRank: number[][] = Array.from({ length: count }, () => []);
        for (let w = 0; w < windows; w++) {
          const owner = windowOwner(w, count);
          assert.ok(Number.isInteger(owner) && owner >= 0 && owner < count, `window ${w} of ${count} ranks -> ${owner}`);
          byRank[owner].push(w);
        }
        assert.deepEqual(byRank.flat().sort((a, b) => a - b), Array.from({ length: windows }, (_, w) => w), 'each window once');
        for (const mine of byRank) assert.ok(mine.length === Math.floor(windows / count) || mine.length === Math.ceil(windows / count));
      }
    }
  });

  it('names each rank its own files in <out>.shards/', () => {
    const final = { csr: '/data/v.csr', jsonl: '/data/v.jsonl' };
    assert.deepEqual(shardOutputPaths(final, { rank: 3, count: 8 }),
      { csr: '/data/v.csr.shards/rank-00003-of-00008.csr', jsonl: '/data/v.csr.shards/rank-00003-of-00008.jsonl' });
    assert.equal(shardProgressFile(final, { rank: 3, count: 8 }), '/data/v.csr.shards/rank-00003-of-00008.csr.progress.json');
    const files = new Set(Array.from({ length: 8 }, (_, rank) => shardOutputPaths(final, { rank, count: 8 }).csr));
    assert.equal(files.size, 8);
  });
});

describe('encode: sharded corpus encoding', function () {
  // Several CLI launches (each rank loads LibTorch) per test: generous limits that only catch hangs.
  this.timeout(600000);
  const data = sharedData();
  let work: string;
  let modelDir: string;
  let encoder: SparseEncoder;
  let docs: RawDoc[];
  let corpus: string;
  let reference: { csr: Buffer; jsonl: Buffer; record: ProgressRecord };
  let threadsBefore: number;

  const outputsIn = (name: string): Required<OutputPaths> => ({ csr: path.join(work, name, 'v.csr'), jsonl: path.join(work, name, 'v.jsonl') });
  const cliArgs = (outputs: OutputPaths, ...extra: string[]) =>
    ['--threads', '1', 'encode', '--model', modelDir, '--data', corpus, '--out', outputs.csr!, '--jsonl', outputs.jsonl!, ...SHARDED_CLI_ARGS, '--no-progress', ...extra];
  /** `l0sparse …` as a separate program (--nproc starts ranks of the program itself); fails the test on a non-zero exit. */
  const runCli = (args: string[], expectStatus = 0): string => {
    const child = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 240000 });
    assert.equal(child.status, expectStatus, `l0sparse ${args.join(' ')}: status ${child.status}, signal ${child.signal}\n${child.stderr}`);
    return child.stdout + child.stderr;
  };
  /** The shards of a `count`-rank run, encoded in this process one after the other. */
  const encodeShards = async (outputs: OutputPaths, count: number) => {
    for (let rank = 0; rank < count; rank++) {
      await encodeCorpus(encoder, corpus, { ...SHARDED_SETTINGS, progress: false, shard: { rank, count }, outputs: shardOutputPaths(outputs, { rank, count }) });
    }
  };
  const merge = async (outputs: OutputPaths, count: number, opts: { corpus?: string; keepShards?: boolean } = {}) => {
    const run = await finalRun(encoder, corpus, { ...SHARDED_SETTINGS, outputs });
    return mergeShards(opts.corpus ?? corpus, { outputs: run.outputs, progressFile: run.progressFile, identity: run.identity, count, onBadLine: 'skip', keepShards: opts.keepShards ?? true });
  };
  /** Byte for byte what the one-process run wrote, and its progress record but for the paths and the time. */
  const assertLikeOneProcess = (outputs: Required<OutputPaths>) => {
    assert.ok(fs.readFileSync(outputs.csr).equals(reference.csr), 'CSR file byte-identical to the one-process run');
    assert.ok(fs.readFileSync(outputs.jsonl).equals(reference.jsonl), 'JSONL file byte-identical to the one-process run');
    const record = readProgressRecord(`${outputs.csr}.progress.json`);
    assert.equal(record.complete, true);
    assert.deepEqual(record.committed, reference.record.committed);
    assert.deepEqual({ ...record.identity, csr: null, jsonl: null }, { ...reference.record.identity, csr: null, jsonl: null });
  };

  before(async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    // One thread here, as in the ranks (--threads 1): GEMM results then agree to the bit. Set before the first
    // native call: a libuv worker thread keeps the thread count it first ran with.
    threadsBefore = getNumThreads();
    setNumThreads(1);
    work = tempDir('encode-sharded');
    modelDir = hfModelDir(data!, 'distilbert', path.join(work, 'model'));
    encoder = await SparseEncoder.load(modelDir);
    docs = sciFactDocs(data!, 60);
    corpus = writeCorpus(path.join(work, 'corpus.jsonl'), docs);
    const lines = fs.readFileSync(corpus, 'utf8').split('\n');
    lines.splice(25, 0, '{"_id": "torn');
    fs.writeFileSync(corpus, lines.join('\n'));
    const outputs = outputsIn('one-process');
    const whole = await encodeCorpus(encoder, corpus, { ...SHARDED_SETTINGS, outputs, progress: false });
    assert.deepEqual([whole.docs, whole.batches, whole.skippedLines.length], [60, 12, 1]);
    reference = { csr: fs.readFileSync(outputs.csr), jsonl: fs.readFileSync(outputs.jsonl), record: readProgressRecord(whole.outputs.progress) };
  });
  after(() => {
    if (threadsBefore) setNumThreads(threadsBefore);
    encoder?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('--nproc 2 writes what one process writes, byte for byte; a rerun finds it complete; --merge-shards redoes the merge', () => {
    const outputs = outputsIn('nproc-2');
    const text = runCli(cliArgs(outputs, '--nproc', '2', '--keep-shards'));
    assert.match(text, /merged 2 shards .*: 60 documents, each once, in corpus order/);
    assert.match(text, /\[rank 0\] l0sparse: warning: .*corpus\.jsonl:26/, 'rank 0 reports the malformed line');
    assert.doesNotMatch(text, /\[rank 1\] l0sparse: warning/, 'the other ranks do not repeat it');
    assertLikeOneProcess(outputs);
    assert.match(runCli(cliArgs(outputs, '--nproc', '2', '--resume')), /nothing to do: .*v\.csr .* complete/);
    assert.match(runCli(cliArgs(outputs, '--nproc', '2'), 1), /v\.csr exists: resume the run/);
    // The kept shards merge again into the same bytes.
    for (const file of [outputs.csr, outputs.jsonl, `${outputs.csr}.progress.json`]) fs.rmSync(file);
    assert.match(runCli(cliArgs(outputs, '--merge-shards')), /merged 2 shards .*: 60 documents.*\(shards removed\)/);
    assertLikeOneProcess(outputs);
    assert.equal(fs.existsSync(`${outputs.csr}.shards`), false, 'shards removed after a verified merge');
  });

  it('stops the launch when a rank is killed mid-run; --resume continues every shard and merges what one process writes', async () => {
    const outputs = outputsIn('killed');
    const sink = new PassThrough();
    let stderr = '';
    sink.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    await assert.rejects(
      launchLocal({ nproc: 2, script: path.join(__dirname, 'sharded-kill-child.js'), args: [modelDir, corpus, outputs.csr, outputs.jsonl, '1', '2'],
        killGraceMs: 1000, stdout: sink, stderr: sink }),
      (e: Error) => e instanceof RankFailedError && e.rank === 1 && e.signal === 'SIGKILL' || assert.fail(`${e.message}\n${stderr}`));
    const killed = readProgressRecord(shardProgressFile(outputs, { rank: 1, count: 2 }));
    assert.deepEqual([killed.complete, killed.committed.docs], [false, 10], 'rank 1 died after 2 batches of 5');
    assert.equal(fs.existsSync(outputs.csr), false, 'no merge without every shard');
    const text = runCli(cliArgs(outputs, '--nproc', '2', '--resume'));
    assert.match(text, /rank 0 of 2: encoded \d+ documents .*: complete/);
    assert.match(text, /merged 2 shards .*: 60 documents/);
    assertLikeOneProcess(outputs);
  });

  it('merges shards encoded one after another, and refuses missing or incomplete shards, naming the ranks', async () => {
    const outputs = outputsIn('three-shards');
    await encodeShards(outputs, 3);
    const rank2 = shardProgressFile(outputs, { rank: 2, count: 3 });
    fs.renameSync(rank2, `${rank2}.away`);
    await assert.rejects(merge(outputs, 3), /cannot merge the 3 shards .*: rank 2: no progress record .*rank-00002-of-00003\.csr\.progress\.json/);
    fs.renameSync(`${rank2}.away`, rank2);
    const rank1 = shardProgressFile(outputs, { rank: 1, count: 3 });
    const record = readProgressRecord(rank1);
    writeProgressRecord(rank1, record.identity, record.committed, false);
    await assert.rejects(merge(outputs, 3), /rank 1: 20 documents committed, not complete/);
    writeProgressRecord(rank1, record.identity, record.committed, true);
    await assert.rejects(merge(outputs, 2), /rank 0: no progress record .*rank-00000-of-00002/, 'another shard count');
    const report = await merge(outputs, 3);
    assert.deepEqual([report.docs, report.batches, report.skippedLines.length], [60, 12, 1]);
    assertLikeOneProcess(outputs);
  });

  it('refuses a document in two shards, a corpus document in none, and a shard document not in the corpus', async () => {
    const outputs = { csr: path.join(work, 'damaged', 'v.csr') };
    await encodeShards(outputs, 2);
    // Shard 1 gets a batch with a document of shard 0 (its record updated, so only the ids give it away).
    const taken = [...readCsrFile(shardOutputPaths(outputs, { rank: 0, count: 2 }).csr!)][0].ids[0];
    const shard1 = shardOutputPaths(outputs, { rank: 1, count: 2 }).csr!;
    const record = readProgressRecord(`${shard1}.progress.json`);
    const writer = CsrFileWriter.open(shard1, { numCols: encoder.vocabSize, mode: 'resume' });
    writer.append(csrFromRows([[[7, 1]]], encoder.vocabSize), [taken]);
    writer.close();
    const grown = { ...record.committed, docs: record.committed.docs + 1, batches: record.committed.batches + 1, csrBytes: fs.statSync(shard1).size };
    writeProgressRecord(`${shard1}.progress.json`, record.identity, grown, true);
    await assert.rejects(merge(outputs, 2), new RegExp(`document '${taken}' is in two shards, ${shardName({ rank: 0, count: 2 })} and ${shardName({ rank: 1, count: 2 })}`));

    const clean = { csr: path.join(work, 'lost', 'v.csr') };
    await encodeShards(clean, 2);
    const extra = writeCorpus(path.join(work, 'lost', 'corpus.jsonl'), [...docs, { _id: 'not-encoded', title: '', text: 'new' }]);
    await assert.rejects(merge(clean, 2, { corpus: extra }), /document 'not-encoded' of .*corpus\.jsonl is in no shard/);
    const fewer = writeCorpus(path.join(work, 'lost', 'fewer.jsonl'), docs.slice(0, 50));
    await assert.rejects(merge(clean, 2, { corpus: fewer }), /document '[^']+' in shard rank-00001-of-00002 is not in .*fewer\.jsonl/);
    assert.equal(fs.existsSync(clean.csr), false, 'a refused merge writes no output');
    assert.deepEqual(fs.readdirSync(path.dirname(clean.csr)).filter((f) => f.endsWith('.tmp')), [], 'nor leaves temp files');
  });

  it('rank 0 waits for shards that complete later and fails, naming it, on a rank that makes no progress', async () => {
    const outputs = outputsIn('waiting');
    const run = await finalRun(encoder, corpus, { ...SHARDED_SETTINGS, outputs });
    const awaited = [1, 2].map((rank) => ({ rank, progressFile: shardProgressFile(run.outputs, { rank, count: 3 }),
      identity: shardIdentity(run.identity, run.outputs, { rank, count: 3 }) }));
    const late = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const rank of [1, 2]) {
        await encodeCorpus(encoder, corpus, { ...SHARDED_SETTINGS, progress: false, shard: { rank, count: 3 }, outputs: shardOutputPaths(outputs, { rank, count: 3 }) });
      }
    })();
    assert.equal(await waitForShards(awaited, { stallTimeoutMs: 20000, pollMs: 50 }), true);
    await late;
    const never = { ...awaited[0], rank: 5, progressFile: path.join(work, 'waiting', 'never.progress.json') };
    const started = Date.now();
    await assert.rejects(waitForShards([awaited[0], never], { stallTimeoutMs: 300, pollMs: 50 }),
      /waited 0\.3 s with no progress from the other shards: rank 5: no progress record .*never\.progress\.json/);
    assert.ok(Date.now() - started < 30000, 'a 0.3 s stall limit took more than 30 s to fire');
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    assert.equal(await waitForShards([never], { stallTimeoutMs: 20000, pollMs: 50, signal: stop.signal }), false);
  });

  it('refuses --overwrite for ranks started by hand (a stale shard could be merged)', async () => {
    const saved = { WORLD_SIZE: process.env.WORLD_SIZE, RANK: process.env.RANK };
    Object.assign(process.env, { WORLD_SIZE: '2', RANK: '1' });
    try {
      await assert.rejects(buildProgram().exitOverride().parseAsync(['node', 'l0sparse', ...cliArgs(outputsIn('hand'), '--overwrite')]),
        /--overwrite is not supported for ranks started by hand/);
    } finally {
      for (const [key, value] of Object.entries(saved)) if (value === undefined) delete process.env[key]; else process.env[key] = value;
    }
  });
});
