/**
 * The thin CLI files, registered on a fresh commander program (so other commands do not matter),
 * driven end to end: files in, files out, exit codes and reports.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';

import { Command } from 'commander';

import { register as registerExport } from '../../lib/cli/commands/export';
import { register as registerOpenSearch } from '../../lib/cli/commands/opensearch';
import { csrFromRows } from '../../lib/sparse/csr';
import { CsrFileWriter } from '../../lib/sparse/csr-file';

async function run(args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const program = new Command('l0sparse').exitOverride();
  registerExport(program);
  registerOpenSearch(program);
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  const before = process.exitCode;
  process.exitCode = undefined;
  (process.stdout as { write: unknown }).write = (chunk: string) => { out += chunk; return true; };
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    (process.stdout as { write: unknown }).write = write;
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out, exitCode };
}

function fixture(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-cli-'));
  fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\nhello\nworld\n.\n');
  fs.writeFileSync(path.join(dir, 'v.jsonl'), [
    '{"id":"d1","vector":{"hello":1.5,".":0.5}}',
    '{"id":"d2","vector":{"world":0,"zzz":1}}',
    '{"id":"d3","vector":{"world":2}}',
  ].join('\n') + '\n');
  return dir;
}

describe('cli: export and opensearch commands', () => {
  it('export --format opensearch-bulk writes NDJSON and reports drops and unknown keys', async () => {
    const dir = fixture();
    const out = path.join(dir, 'b.ndjson');
    const r = await run(['export', '--format', 'opensearch-bulk', '--input', path.join(dir, 'v.jsonl'), '--vocab', path.join(dir, 'vocab.txt'), '--out', out, '--index', 'i']);
    assert.deepStrictEqual(fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [
      { index: { _index: 'i', _id: 'd1' } }, { embedding: { hello: 1.5, '%2E': 0.5 } },
      { index: { _index: 'i', _id: 'd2' } }, { embedding: {} },
      { index: { _index: 'i', _id: 'd3' } }, { embedding: { world: 2 } },
    ]);
    assert.match(r.out, /3 documents, 3 entries/);
    assert.match(r.out, /1 <= 0 or subnormal/);
    assert.match(r.out, /not in the vocabulary: 1 \(e\.g\. "zzz"\)/);
  });

  it('export reads the encoder\'s binary CSR file too (sparse_vector needs no vocabulary; bad weights counted)', async () => {
    const dir = fixture();
    const file = path.join(dir, 'docs.csr');
    const w = CsrFileWriter.open(file, { numCols: 4 });
    w.append(csrFromRows([[[1, 1.5], [3, 0.5]], [[2, 2]]], 4), ['d1', 'd2']);
    w.append(csrFromRows([[[2, 0.25]]], 4), ['d3']);
    w.close();
    const out = path.join(dir, 'sv.ndjson');
    const r = await run(['export', '--format', 'opensearch-bulk', '--field-type', 'sparse_vector', '--input', file, '--out', out]);
    assert.deepStrictEqual(fs.readFileSync(out, 'utf8').trim().split('\n').filter((_, i) => i % 2 === 1).map((l) => JSON.parse(l)),
      [{ embedding: { 1: 1.5, 3: 0.5 } }, { embedding: { 2: 2 } }, { embedding: { 2: 0.25 } }]);
    assert.match(r.out, /3 documents, 4 entries/);
    const seismic = path.join(dir, 's.jsonl');
    await run(['export', '--format', 'seismic', '--input', file, '--vocab', path.join(dir, 'vocab.txt'), '--out', seismic]);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(seismic, 'utf8').split('\n')[0]), { id: 0, vector: { hello: 1.5, '.': 0.5 } });
    await assert.rejects(run(['export', '--format', 'anserini', '--input', file, '--out', path.join(dir, 'a.jsonl')]), /--vocab is needed/);
  });

  it('opensearch create-index --print-body prints the sparse_vector body without a cluster', async () => {
    const r = await run(['opensearch', 'create-index', '--url', 'http://unused', '--index', 'x', '--type', 'sparse_vector', '--n-postings', '300', '--print-body']);
    assert.deepStrictEqual(JSON.parse(r.out), {
      settings: { index: { sparse: true } },
      mappings: { properties: { embedding: { type: 'sparse_vector', method: { name: 'seismic', parameters: { n_postings: 300 } } } } },
    });
    await assert.rejects(run(['opensearch', 'create-index', '--url', 'http://unused', '--index', 'x', '--n-postings', '3', '--print-body']), /sparse_vector only/);
  });

  it('opensearch ingest resumes from its checkpoint and exits 2 when documents failed (scripted local _bulk endpoint, not an OpenSearch)', async () => {
    const dir = fixture();
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        bodies.push(body);
        const ids = body.trim().split('\n').filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id as string);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: true, items: ids.map((id) => ({ index: id === 'd3'
          ? { _id: id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad' } }
          : { _id: id, status: 201 } })) }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const args = ['opensearch', 'ingest', '--url', url, '--index', 'i', '--input', path.join(dir, 'v.jsonl'), '--vocab', path.join(dir, 'vocab.txt'), '--batch-size', '2', '--no-progress'];
      const first = await run(args);
      assert.strictEqual(first.exitCode, 2);
      assert.match(first.out, /indexed 2, failed 1, skipped 0/);
      assert.match(first.out, /d3: 400 mapper_parsing_exception bad/);
      assert.strictEqual(bodies.length, 2);
      const failures = fs.readFileSync(path.join(dir, 'v.jsonl.i.failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepStrictEqual(failures.map((f) => f.id), ['d3']);
      const second = await run(args);
      assert.match(second.out, /indexed 0, failed 0, skipped 3/);
      assert.strictEqual(bodies.length, 2); // nothing re-sent
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('opensearch search encodes BEIR text queries and writes the TREC run atomically (scripted local _search endpoint, not an OpenSearch)', async () => {
    const dir = fixture();
    fs.writeFileSync(path.join(dir, 'v2.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n.\n');
    fs.writeFileSync(path.join(dir, 'idf.json'), JSON.stringify({ hello: 2.5, world: 0.5 }));
    fs.writeFileSync(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"Hello world"}\n{"_id":"q2","text":"?"}\n');
    const bodies: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        bodies.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ hits: { hits: [{ _id: 'd1', _score: 5.5 }, { _id: 'd7', _score: 0.5 }] } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const out = path.join(dir, 'run.trec');
      const r = await run(['opensearch', 'search', '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--index', 'i',
        '--queries', path.join(dir, 'queries.jsonl'), '--tokenizer', path.join(dir, 'v2.txt'), '--idf', path.join(dir, 'idf.json'),
        '--out', out, '--k', '2', '--tag', 't', '--no-progress']);
      assert.strictEqual(fs.readFileSync(out, 'utf8'), 'q1 Q0 d1 1 5.5 t\nq1 Q0 d7 2 0.5 t\n');
      assert.deepStrictEqual(bodies, [{ size: 2, _source: false, query: { bool: { should: [
        { rank_feature: { field: 'embedding.hello', boost: 2.5, linear: {} } },
        { rank_feature: { field: 'embedding.world', boost: 0.5, linear: {} } },
      ] } } }]);
      assert.match(r.out, /2 queries, 2 run lines .* 1 queries had no usable token/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('opensearch ingest names the URL when the cluster cannot be reached', async () => {
    const dir = fixture();
    await assert.rejects(run(['opensearch', 'ingest', '--url', 'http://127.0.0.1:9', '--index', 'i', '--input', path.join(dir, 'v.jsonl'),
      '--vocab', path.join(dir, 'vocab.txt'), '--max-retries', '0', '--no-progress']), /OpenSearch at http:\/\/127\.0\.0\.1:9: giving up after 1 attempts/);
  });
});
