import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { buildCases } from './napi-cases';

// Every exported native function (and SparseIndexNative method) is called with wrong arity, wrong types,
// wrong TypedArray dtypes, mismatched shapes and lengths, out-of-range ids, NaN/Infinity, disposed handles and
// foreign Externals. All cases run in one child process: a crash there fails these tests (naming the case)
// instead of killing mocha.

interface Done {
  done: number; fn: string; name: string; outcome: string; isError?: boolean; errorClass?: string; message?: string;
}

describe('reliability: every N-API function rejects bad arguments with an Error, never a crash', function () {
  this.timeout(300000);
  const cases = buildCases();
  const results = new Map<number, Done>();
  let exportsSeen: string[] = [];
  let crash = '';
  let sane = false;
  let tmp = '';

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-napi-'));
    const child = path.join(__dirname, 'napi-child.js');
    const r = spawnSync(process.execPath, [child, tmp], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 280000 });
    let lastStart = -1;
    for (const l of r.stdout.split('\n').filter(Boolean)) {
      const o = JSON.parse(l);
      if (o.exports) exportsSeen = o.exports;
      if (typeof o.start === 'number') lastStart = o.start;
      if (typeof o.done === 'number') results.set(o.done, o as Done);
      if (typeof o.sane === 'boolean') sane = o.sane;
    }
    if (r.status !== 0) {
      const c = cases[lastStart];
      crash = `child exited with status ${r.status} signal ${r.signal}` +
        (c && !results.has(lastStart) ? ` during ${c.fn}: ${c.name}` : '') + `\n${r.stderr.slice(-2000)}`;
    }
  });
  after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

  it('the child process ran every case and stayed sound', () => {
    assert.equal(crash, '');
    assert.equal(results.size, cases.length);
    assert.ok(sane, 'a good encode and search work after all the bad calls');
  });

  it('covers every export of the addon and every SparseIndexNative method', () => {
    assert.ok(exportsSeen.length > 0, crash);
    const covered = new Set(cases.map((c) => c.fn.split(/[#.]/)[0]));
    for (const name of exportsSeen) assert.ok(covered.has(name), `no bad-argument case for export ${name}`);
    for (const m of ['add', 'build', 'search', 'save', 'stats', 'idsAt']) {
      assert.ok(cases.some((c) => c.fn === `SparseIndexNative#${m}`), `no case for SparseIndexNative#${m}`);
    }
    assert.ok(cases.some((c) => c.fn === 'SparseIndexNative.load'));
  });

  const fns = [...new Set(cases.map((c) => c.fn))];
  for (const fn of fns) {
    it(`${fn}`, () => {
      const problems: string[] = [];
      cases.forEach((c, i) => {
        if (c.fn !== fn) return;
        const r = results.get(i);
        if (!r) { problems.push(`${c.name}: not run (${crash.split('\n')[0] || 'child did not report it'})`); return; }
        if (r.outcome === 'timeout') { problems.push(`${c.name}: never settled`); return; }
        if (c.expect === 'settle') return;
        if (r.outcome !== 'threw' && r.outcome !== 'rejected') { problems.push(`${c.name}: ${r.outcome}, expected an error`); return; }
        if (!r.isError || !r.message) { problems.push(`${c.name}: threw a non-Error or an empty message (${r.errorClass})`); return; }
        if (c.match && !c.match.test(r.message)) problems.push(`${c.name}: message "${r.message}" does not match ${c.match}`);
      });
      assert.deepEqual(problems, []);
    });
  }
});
