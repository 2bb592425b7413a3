import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CsrFileWriter } from '../../lib/sparse/csr-file';

// Bad CLI arguments: a non-zero exit, a message that names the argument, and no output file.

const CLI = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');

describe('reliability: bad CLI arguments', function () {
  this.timeout(300000);
  let tmp: string;
  let vectors: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-cliargs-'));
    vectors = path.join(tmp, 'docs.csr');
    const w = CsrFileWriter.open(vectors, { numCols: 8, sync: false });
    w.append({ indptr: Int32Array.from([0, 2]), indices: Int32Array.from([1, 5]), values: Float32Array.from([1, 2]), numCols: 8 }, ['d0']);
    w.close();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cases: [string, (t: string, v: string) => string[], RegExp][] = [
    ['unknown command', () => ['frobnicate'], /unknown command/],
    ['--threads 0', (t, v) => ['--threads', '0', 'index', '--vectors', v, '--out', path.join(t, 'o1.idx')], /--threads/],
    ['--threads x', (t, v) => ['--threads', 'x', 'index', '--vectors', v, '--out', path.join(t, 'o2.idx')], /--threads/],
    ['index without --out', (_t, v) => ['index', '--vectors', v], /--out/],
    ['index --prune bogus', (t, v) => ['index', '--vectors', v, '--out', path.join(t, 'o3.idx'), '--prune', 'bogus:3'], /prune|bogus/],
    ['index --prune top_k:-1', (t, v) => ['index', '--vectors', v, '--out', path.join(t, 'o4.idx'), '--prune', 'top_k:-1'], /top_k|prune/],
    ['index --on-bad-line maybe', (t, v) => ['index', '--vectors', v, '--out', path.join(t, 'o5.idx'), '--on-bad-line', 'maybe'], /on-bad-line|maybe/],
    ['index JSONL vectors without --vocab', (t) => ['index', '--vectors', path.join(t, 'v.jsonl'), '--out', path.join(t, 'o6.idx')], /vocab|v\.jsonl/],
    ['search --k 0', (t, v) => ['search', '--index', path.join(t, 'none.idx'), '--queries', v, '--k', '0', '--out', path.join(t, 'o7.run')], /--k|k must|none\.idx/],
    ['encode --device gpu', (t) => ['encode', '--model', path.join(t, 'nomodel'), '--data', path.join(t, 'c.jsonl'), '--out', path.join(t, 'o9.csr'), '--device', 'gpu'], /--device 'gpu' is not a device name: expected 'cpu', 'cuda' or 'cuda:N'/],
    ['encode --device cuda:-1', (t) => ['encode', '--model', path.join(t, 'nomodel'), '--data', path.join(t, 'c.jsonl'), '--out', path.join(t, 'o10.csr'), '--device', 'cuda:-1'], /--device 'cuda:-1' is not a device name/],
    ['encode with a missing model dir', (t) => ['encode', '--model', path.join(t, 'nomodel'), '--data', path.join(t, 'c.jsonl'), '--out', path.join(t, 'o8.csr')], /nomodel|c\.jsonl/],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, () => {
      fs.writeFileSync(path.join(tmp, 'v.jsonl'), '{"id": "a", "vector": {"x": 1}}\n');
      const before = new Set(fs.readdirSync(tmp));
      const r = spawnSync(process.execPath, [CLI, ...args(tmp, vectors)], { encoding: 'utf8', timeout: 120000 });
      assert.notEqual(r.status, 0, `exit 0 for ${name}: ${r.stdout}`);
      assert.equal(r.signal, null);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /^\s+at .*\.js:\d+/m, 'a stack trace instead of a message');
      const left = fs.readdirSync(tmp).filter((f) => !before.has(f));
      assert.deepEqual(left, []);
    });
  }
});
