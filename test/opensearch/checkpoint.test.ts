import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Checkpoint } from '../../lib/opensearch/checkpoint';

const identity = { input: 'in.jsonl', index: 'idx', field: 'e', batchSize: 100 };
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-cp-')), 'cp.json');

describe('opensearch: ingest checkpoint', () => {
  it('keeps a constant-size state: a done prefix plus the few batches finished out of order', () => {
    const cp = Checkpoint.open(null, identity);
    for (const b of [1, 0, 2, 5, 4, 7]) cp.markDone(b, 100, 0);
    assert.deepStrictEqual(cp.state().done, [[0, 3], [4, 6], [7, 8]]);
    assert.ok(cp.isDone(2) && !cp.isDone(3) && cp.isDone(7) && !cp.isDone(8));
    assert.strictEqual(cp.batchesDone, 6);
    for (let b = 6; b < 10000; b++) cp.markDone(b, 1, 0); // 7 again is a no-op
    cp.markDone(3, 1, 0);
    assert.deepStrictEqual(cp.state().done, [[0, 10000]]);
  });

  it('persists atomically, at most once per interval and on flush, and reloads the same state', () => {
    const file = tmpFile();
    const cp = Checkpoint.open(file, identity, 60_000);
    cp.markDone(0, 100, 0); // first write happens at once
    cp.markDone(2, 90, 10); // within the interval: not yet on disk
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, 'utf8')).done, [[0, 1]]);
    cp.flush();
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepStrictEqual(saved, { version: 1, ...identity, done: [[0, 1], [2, 3]], docsIndexed: 190, docsFailed: 10 });
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['cp.json']); // no temporary files left
    const again = Checkpoint.open(file, identity);
    assert.ok(again.isDone(0) && !again.isDone(1) && again.isDone(2));
    assert.strictEqual(again.docsIndexed, 190);
  });

  it('refuses a checkpoint of another run, and an unreadable one, with what to do', () => {
    const file = tmpFile();
    const cp = Checkpoint.open(file, identity, 0);
    cp.markDone(0, 1, 0);
    assert.throws(() => Checkpoint.open(file, { ...identity, index: 'other' }), /another run \(index: "idx" vs "other"\)/);
    fs.writeFileSync(file, '{"version":1,');
    assert.throws(() => Checkpoint.open(file, identity), /unreadable.*delete it/);
  });
});
