import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { writeFileAtomic } from '../../lib/io';
import { STALE_AFTER_MS, sweepStaleTemps, tempOwnerPid } from '../../lib/io';

/** The pid of a process that has exited (reuse within the test is possible in theory, not in practice). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('reliability: stale temp files of killed writers are swept', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-stale-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const touch = (name: string, ageMs: number, asDir = false) => {
    const full = path.join(dir, name);
    if (asDir) fs.mkdirSync(full); else fs.writeFileSync(full, 'x');
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(full, t, t);
  };

  it('recognises every writer\'s temp name for a target, and nothing else', () => {
    assert.equal(tempOwnerPid('.progress.json.4242.lq3k9z.tmp', 'progress.json'), 4242);
    assert.equal(tempOwnerPid('model.safetensors.tmp-77-3', 'model.safetensors'), 77);
    assert.equal(tempOwnerPid('corpus.idx.tmp.901.0', 'corpus.idx'), 901);
    assert.equal(tempOwnerPid('.partial-step-00000004-31', 'step-00000004'), 31);
    assert.equal(tempOwnerPid('.replaced-model-32', 'model'), 32);
    for (const other of ['model.safetensors', 'model.safetensors.tmp', 'config.json.tmp-77-3', 'xmodel.safetensors.tmp-77-3',
      'model.safetensors.tmp-abc-1', '.progress.json.4242.tmp', 'corpus.idx.tmp.901']) {
      assert.equal(tempOwnerPid(other, 'model.safetensors'), null, other);
    }
    assert.equal(tempOwnerPid('a+b.tmp-1-1', 'a+b'), 1, 'names are matched literally');
    assert.equal(tempOwnerPid('aab.tmp-1-1', 'a+b'), null);
  });

  it('removes temps of dead processes idle longer than the threshold; keeps live, own, fresh and foreign files', () => {
    const dead = deadPid();
    const old = STALE_AFTER_MS + 60_000;
    touch(`.out.csr.progress.json.${dead}.abc.tmp`, old);
    touch(`model.safetensors.tmp-${dead}-0`, old);
    touch(`corpus.idx.tmp.${dead}.3`, old);
    touch(`model.safetensors.tmp-${dead}-1`, 5_000);              // fresh: maybe a live writer elsewhere
    touch(`model.safetensors.tmp-${process.pid}-9`, old);         // ours
    touch(`model.safetensors.tmp-${process.ppid}-9`, old);        // a live process
    touch('model.safetensors', old);                              // the target itself
    touch(`other.bin.tmp-${dead}-0`, old);                        // a name nobody asked about
    const removed = sweepStaleTemps(dir, ['out.csr.progress.json', 'model.safetensors', 'corpus.idx']).map((p) => path.basename(p)).sort();
    assert.deepEqual(removed, [`.out.csr.progress.json.${dead}.abc.tmp`, `corpus.idx.tmp.${dead}.3`, `model.safetensors.tmp-${dead}-0`].sort());
    assert.deepEqual(fs.readdirSync(dir).sort(), ['model.safetensors', `model.safetensors.tmp-${dead}-1`,
      `model.safetensors.tmp-${process.pid}-9`, `model.safetensors.tmp-${process.ppid}-9`, `other.bin.tmp-${dead}-0`].sort());
    assert.deepEqual(sweepStaleTemps(path.join(dir, 'missing'), ['x']), []);
  });

  it('writeFileAtomic sweeps its target\'s stale temps on the first write', () => {
    const dead = deadPid();
    touch(`.state.json.${dead}.k2.tmp`, STALE_AFTER_MS + 1000);
    writeFileAtomic(path.join(dir, 'state.json'), '{}');
    assert.deepEqual(fs.readdirSync(dir), ['state.json']);
  });
});
