import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { rng } from '../helpers';
import { SparseIndex } from '../../lib/index/sparse-index';
import { NUM_COLS } from './index-save-child';

// kill -9 while an index is being saved: the path holds the old complete file, the new complete file, or
// nothing (first save) — never a half-written index. Temp files (.<name>.<pid>.<n>.tmp, native/common/file_io.h) may remain after a
// kill; they are never taken for the index.

const DOCS = 20000;

function killDuringSaves(file: string, delayMs: number, minSaves: number): Promise<{ saves: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'index-save-child.js'), file, String(DOCS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    let built = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const saves = (out.match(/saved \d+/g) ?? []).length;
      if (!built && /built/.test(out)) built = true;
      if (built && !killed && saves >= minSaves) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} ${signal} before the kill: ${err}`));
      else resolve({ saves: (out.match(/saved \d+/g) ?? []).length });
    });
  });
}

describe('reliability: kill -9 during index save never leaves a corrupt index', function () {
  this.timeout(300000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-kill9-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('killed at random points of the first save and of repeated saves: nothing or a whole index', async () => {
    const next = rng(99);
    let sawMissing = 0;
    let sawWhole = 0;
    let temps = 0;
    let whole: SparseIndex | null = null;
    const files: string[] = [];
    for (let trial = 0; trial < 8; trial++) {
      const file = path.join(tmp, `t${trial}`, 'corpus.idx');
      files.push(file);
      fs.mkdirSync(path.dirname(file));
      // Even trials: kill during the very first save (after the build); odd ones: during a later save.
      const { saves } = await killDuringSaves(file, Math.floor(next() * 120), trial % 2 === 0 ? 0 : 2);
      if (!fs.existsSync(file)) {
        assert.equal(saves, 0, `trial ${trial}: a save completed but the index file is missing`);
        sawMissing++;
      } else {
        const index = await SparseIndex.load(file);
        const s = index.stats();
        assert.equal(s.docs, DOCS);
        assert.equal(s.numCols, NUM_COLS);
        assert.equal(s.postings, DOCS * 40);
        assert.deepEqual(index.idsAt(Int32Array.from([0, DOCS - 1])), ['doc-0', `doc-${DOCS - 1}`]);
        whole = index;
        sawWhole++;
      }
      temps += fs.readdirSync(path.dirname(file)).filter((f) => /^\..+\.\d+\.\d+\.tmp$/.test(f)).length;
    }
    assert.ok(sawWhole > 0, 'no trial left a complete index');
    process.stdout.write(`      (8 kills: ${sawWhole} complete indexes, ${sawMissing} none yet, ${temps} stale temp files)\n`);

    // The next save to the same path sweeps the killed writers' temps once they are idle long enough
    // (lib/io/stale-temps.ts); fresh ones could belong to a live writer on another machine and stay.
    const tempsOf = (file: string) => fs.readdirSync(path.dirname(file)).filter((f) => /^\..+\.\d+\.\d+\.tmp$/.test(f));
    const old = new Date(Date.now() - 11 * 60 * 1000);
    let swept = 0;
    for (const file of files) {
      const left = tempsOf(file);
      for (const f of left) fs.utimesSync(path.join(path.dirname(file), f), old, old);
      await whole!.save(file);
      assert.deepEqual(tempsOf(file), [], `${file}: stale temps left after the next save`);
      swept += left.length;
    }
    assert.equal(swept, temps);
  });
});
