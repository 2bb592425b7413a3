/** `l0sparse index` and `l0sparse search` end to end on a fresh commander program: files in, files out. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Command } from 'commander';

import { register as registerCheckIndex } from '../../lib/cli/commands/check-index';
import { register as registerIndex } from '../../lib/cli/commands/index';
import { register as registerSearch } from '../../lib/cli/commands/search';
import { csrFromRows } from '../../lib/sparse/csr';
import { CsrFileWriter } from '../../lib/sparse/csr-file';

async function run(args: string[]): Promise<string> {
  const program = new Command('l0sparse').exitOverride();
  registerIndex(program);
  registerSearch(program);
  registerCheckIndex(program);
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  (process.stdout as { write: unknown }).write = (chunk: string) => { out += chunk; return true; };
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    (process.stdout as { write: unknown }).write = write;
  }
  return out;
}

describe('CLI: index and search', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-index-cli-'));
    fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\nhello\nworld\ncat\n');
    fs.writeFileSync(path.join(dir, 'docs.jsonl'), [
      '{"id":"d1","vector":{"hello":1.5,"cat":0.5}}',
      '{"id":"d2","vector":{"world":2}}',
      '{"id":"d3","vector":{"hello":1,"world":1}}',
    ].join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'queries.jsonl'), '{"id":"q1","vector":{"hello":1,"world":0.5}}\n{"id":"q2","vector":{"cat":2}}\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('indexes JSONL vectors and writes a TREC run with hand-computed scores', async () => {
    const index = path.join(dir, 'docs.l0idx');
    const report = JSON.parse(await run(['index', '--vectors', path.join(dir, 'docs.jsonl'), '--vocab', path.join(dir, 'vocab.txt'), '--out', index, '--json']));
    assert.strictEqual(report.docs, 3);
    assert.strictEqual(report.postings, 5);
    const runFile = path.join(dir, 'run.trec');
    await run(['search', '--index', index, '--queries', path.join(dir, 'queries.jsonl'), '--vocab', path.join(dir, 'vocab.txt'), '--k', '2', '--out', runFile, '--tag', 't']);
    // q1: d3 = 1 + 0.5 = 1.5, d1 = 1.5, d2 = 1 -> tie between d1 and d3 goes to d1 (added first).
    assert.strictEqual(fs.readFileSync(runFile, 'utf8'), 'q1 Q0 d1 1 1.5 t\nq1 Q0 d3 2 1.5 t\nq2 Q0 d1 1 1.0 t\n');
  });

  it('check-index verifies every byte: a good file passes, a flipped posting byte fails with exit code 1', async () => {
    const index = path.join(dir, 'check.l0idx');
    await run(['index', '--vectors', path.join(dir, 'docs.jsonl'), '--vocab', path.join(dir, 'vocab.txt'), '--out', index]);
    const good = JSON.parse(await run(['check-index', index, '--json']));
    assert.deepStrictEqual(good.map((r: { ok: boolean; docs: number }) => [r.ok, r.docs]), [[true, 3]]);
    assert.ok(!process.exitCode);
    // A byte inside the posting data (section 5): lazily opened it would only fail a search of its term.
    const bytes = fs.readFileSync(index);
    let at = 80;
    for (let tag = 1; tag < 5; tag++) at += 16 + Math.ceil(Number(bytes.readBigUInt64LE(at + 8)) / 8) * 8;
    bytes[at + 16 + 3] ^= 0x40;
    const bad = path.join(dir, 'check-bad.l0idx');
    fs.writeFileSync(bad, bytes);
    try {
      const out = JSON.parse(await run(['check-index', index, bad, '--json']));
      assert.deepStrictEqual(out.map((r: { ok: boolean }) => r.ok), [true, false]);
      assert.match(out[1].error, /check-bad\.l0idx: corrupt index file: checksum mismatch in section posting data/);
      assert.strictEqual(process.exitCode, 1);
    } finally {
      process.exitCode = 0;
    }
  });

  it('reads binary CSR vectors, prunes, and rejects mismatched vocabularies', async () => {
    const csrFile = path.join(dir, 'docs.csr');
    const w = CsrFileWriter.open(csrFile, { numCols: 4, mode: 'overwrite' });
    w.append(csrFromRows([[[1, 1.5], [3, 0.5]], [[2, 2]]], 4), ['a', 'b']);
    w.close();
    const index = path.join(dir, 'csr.l0idx');
    const report = JSON.parse(await run(['index', '--vectors', csrFile, '--out', index, '--prune', 'top_k:1', '--json']));
    assert.strictEqual(report.postings, 2);  // d 'a' keeps only its largest weight
    const out = await run(['search', '--index', index, '--queries', csrFile, '--k', '3']);
    assert.strictEqual(out, 'a Q0 a 1 2.25 l0sparse\nb Q0 b 1 4.0 l0sparse\n');
    const queries = path.join(dir, 'q5.csr');
    const w5 = CsrFileWriter.open(queries, { numCols: 5, mode: 'overwrite' });
    w5.append(csrFromRows([[[1, 1]]], 5), ['q']);
    w5.close();
    await assert.rejects(run(['search', '--index', index, '--queries', queries]), /5 columns but the index has 4/);
    await assert.rejects(run(['index', '--vectors', path.join(dir, 'docs.jsonl'), '--out', index]), /needs --vocab/);
    await assert.rejects(run(['search', '--index', path.join(dir, 'docs.jsonl'), '--queries', csrFile]), /not an l0sparse index/);
  });

  it('shards by document range and merges the exact top-k: the same run as one index, ties included', async () => {
    // 23 documents over 6 columns with small integer weights (many exact ties across shard boundaries),
    // written in two CSR records so that shard boundaries fall inside and between batches.
    const rows: [number, number][][] = [];
    for (let d = 0; d < 23; d++) rows.push([[d % 3, 1 + (d % 2)], [3 + (d % 3), 1 + ((d * 7) % 3)]]);
    const ids = rows.map((_, d) => `doc${d}`);
    const vectors = path.join(dir, 'shard-docs.csr');
    const w = CsrFileWriter.open(vectors, { numCols: 6, mode: 'overwrite' });
    w.append(csrFromRows(rows.slice(0, 10), 6), ids.slice(0, 10));
    w.append(csrFromRows(rows.slice(10), 6), ids.slice(10));
    w.close();
    const queries = path.join(dir, 'shard-queries.csr');
    const wq = CsrFileWriter.open(queries, { numCols: 6, mode: 'overwrite' });
    wq.append(csrFromRows([[[0, 1], [3, 1]], [[1, 2], [5, 1]], [[2, 1]], [[4, 3], [0, 1], [1, 1]]], 6), ['q0', 'q1', 'q2', 'q3']);
    wq.close();
    const single = path.join(dir, 'single.l0idx');
    await run(['index', '--vectors', vectors, '--out', single]);
    const sharded = path.join(dir, 'sharded.l0idx');
    const report = JSON.parse(await run(['index', '--vectors', vectors, '--out', sharded, '--shard-docs', '7', '--json']));
    assert.deepStrictEqual(report.shards, [0, 1, 2, 3].map((i) => `${sharded}.${i}`));  // 7 + 7 + 7 + 2 documents
    assert.strictEqual(report.docs, 23);
    for (const k of ['1', '5', '30']) {
      const want = await run(['search', '--index', single, '--queries', queries, '--k', k]);
      const got = await run(['search', '--index', ...report.shards, '--queries', queries, '--k', k]);
      assert.strictEqual(got, want, `k ${k}`);
    }
    await assert.rejects(run(['index', '--vectors', vectors, '--out', sharded, '--shard-docs', '0']), /--shard-docs must be a positive integer/);
  });
});
