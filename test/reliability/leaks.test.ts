import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

// A short, bounded version of scripts/leak-check.js (the full run, 10,000 encodes and 1,000 train steps, is
// reported in docs/RELIABILITY.md): after a warm-up, RSS must not keep growing with the number of calls.

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'leak-check.js');

interface Result { name: string; calls: number; rssAfterWarmupMb: number; rssEndMb: number; rssPeakMb: number }

describe('reliability: RSS stays bounded over many native calls', function () {
  this.timeout(600000);
  it('1,500 encodes and 150 train steps on the tiny fixture model grow RSS by < 40 MB after warm-up', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', SCRIPT, '--encodes', '1500', '--steps', '150', '--json'],
      { encoding: 'utf8', timeout: 580000, env: { ...process.env, MALLOC_ARENA_MAX: '2' } });  // one arena per libuv thread made RSS jump by whole arenas after the warm-up
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: Result[] };
    assert.equal(out.results.length, 2);
    for (const x of out.results) {
      const growth = x.rssEndMb - x.rssAfterWarmupMb;
      assert.ok(growth < 40, `${x.name}: RSS grew ${growth.toFixed(1)} MB over ${x.calls} calls after warm-up (peak ${x.rssPeakMb} MB)`);
    }
  });
});
