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

async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  const program = new Command('l0sparse').exitOverride();
  registerExport(program);
  registerOpenSearch(program);
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  let out = '';
  let err = '';
  const before = process.exitCode;
  process.exitCode = undefined;
  (process.stdout as { write: unknown }).write = (chunk: string) => { out += chunk; return true; };
  (process.stderr as { write: unknown }).write = (chunk: string) => { err += chunk; return true; };
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    (process.stdout as { write: unknown }).write = write;
    (process.stderr as { write: unknown }).write = writeErr;
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out, err, exitCode };
}

interface Request { method: string; path: string; body: string }

/** A local HTTP endpoint answering from `answer` (not an OpenSearch); records every request. */
async function scripted(answer: (r: Request) => { status: number; body: unknown }): Promise<{ url: string; seen: Request[]; close: () => Promise<void> }> {
  const seen: Request[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const r = { method: req.method ?? '', path: (req.url ?? '').split('?')[0], body };
      seen.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

/** GET / of an OpenSearch cluster of version `number` (the fields we read). */
const rootBody = (number: string) => ({ name: 'n1', cluster_name: 'c', version: { distribution: 'opensearch', number } });

/** A saved-model directory just complete enough for export --format opensearch-model. */
function modelDir(idf: Record<string, number>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-cli-model-'));
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([len, header, Buffer.alloc(4)]));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'distilbert' }));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: { '[PAD]': 0, hello: 1 } } }));
  fs.writeFileSync(path.join(dir, 'idf.json'), JSON.stringify(idf));
  return dir;
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

  it('export --prune top_k:1 prunes natively; the older --prune-type/--prune-ratio spelling gives the same file', async () => {
    const dir = fixture();
    const file = path.join(dir, 'docs.csr');
    const w = CsrFileWriter.open(file, { numCols: 4 });
    w.append(csrFromRows([[[1, 1.5], [3, 0.5]], [[1, 2], [2, 2]]], 4), ['d1', 'd2']);
    w.close();
    const args = (out: string) => ['export', '--format', 'opensearch-bulk', '--field-type', 'sparse_vector', '--input', file, '--out', out];
    const r = await run([...args(path.join(dir, 'new.ndjson')), '--prune', 'top_k:1']);
    assert.match(r.out, /2 documents, 2 entries/);
    // d1 keeps its largest weight; d2's tie keeps the smaller id.
    assert.deepStrictEqual(fs.readFileSync(path.join(dir, 'new.ndjson'), 'utf8').trim().split('\n').filter((_, i) => i % 2 === 1).map((l) => JSON.parse(l)),
      [{ embedding: { 1: 1.5 } }, { embedding: { 1: 2 } }]);
    await run([...args(path.join(dir, 'old.ndjson')), '--prune-type', 'top_k', '--prune-ratio', '1']);
    assert.strictEqual(fs.readFileSync(path.join(dir, 'old.ndjson'), 'utf8'), fs.readFileSync(path.join(dir, 'new.ndjson'), 'utf8'));
    await assert.rejects(run([...args(path.join(dir, 'x.ndjson')), '--prune', 'top_k:1', '--prune-type', 'top_k']), /not both/);
    await assert.rejects(run([...args(path.join(dir, 'y.ndjson')), '--prune', 'max_ratio:1']), /\[0, 1\)/);
    assert.ok(!fs.existsSync(path.join(dir, 'y.ndjson')), 'a refused spec writes nothing');
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

  it('opensearch search checks the cluster version first: neural_sparse on 2.13 stops before any query, 2.14 searches', async () => {
    const dir = fixture();
    fs.writeFileSync(path.join(dir, 'q.jsonl'), '{"id":"q1","vector":{"hello":100,"world":25}}\n');
    let version = '2.13.0';
    const srv = await scripted((r) => (r.path === '/' ? { status: 200, body: rootBody(version) }
      : { status: 200, body: { hits: { hits: [{ _id: 'd1', _score: 32 }] } } }));
    try {
      const out = path.join(dir, 'run.trec');
      const args = ['opensearch', 'search', '--url', srv.url, '--index', 'i', '--queries', path.join(dir, 'q.jsonl'), '--out', out,
        '--mode', 'neural_sparse', '--k', '5', '--tag', 't', '--no-progress'];
      await assert.rejects(run(args), /neural_sparse with raw query_tokens needs OpenSearch 2\.14 or later, and the cluster is 2\.13\.0/);
      assert.deepStrictEqual(srv.seen.map((r) => [r.method, r.path]), [['GET', '/']]);
      assert.ok(!fs.existsSync(out));
      version = '2.14.0';
      const r = await run(args);
      // 100 > 64: sent as 64 / 16, the score 32 comes back times 100/64.
      assert.deepStrictEqual(JSON.parse(srv.seen[2].body).query, { neural_sparse: { embedding: { query_tokens: { hello: 64, world: 16 } } } });
      assert.strictEqual(fs.readFileSync(out, 'utf8'), 'q1 Q0 d1 1 50.0 t\n');
      assert.match(r.out, /1 queries had a weight above 64/);
      assert.strictEqual(r.err, '');
    } finally {
      await srv.close();
    }
  });

  it('opensearch search on sparse_vector: SEISMIC defaults to --k hits and all tokens; --top-n etc. refused on rank_features; unreadable version only warns', async () => {
    const dir = fixture();
    fs.writeFileSync(path.join(dir, 'q.jsonl'), '{"id":"q1","tokens":["hello","world","."]}\n');
    const srv = await scripted((r) => (r.path === '/' ? { status: 403, body: { error: { type: 'security_exception', reason: 'no permissions' } } }
      : { status: 200, body: { hits: { hits: [] } } }));
    try {
      const common = ['opensearch', 'search', '--url', srv.url, '--index', 'i', '--queries', path.join(dir, 'q.jsonl'), '--out', path.join(dir, 'r.trec'),
        '--vocab', path.join(dir, 'vocab.txt'), '--mode', 'neural_sparse', '--k', '300', '--no-progress'];
      const r = await run([...common, '--type', 'sparse_vector', '--heap-factor', '1.2']);
      assert.match(r.err, /warning: cannot check the cluster version: GET \/ answered HTTP 403; sending anyway/);
      assert.deepStrictEqual(JSON.parse(srv.seen[1].body), { size: 300, _source: false, query: { neural_sparse: { embedding: {
        query_tokens: { 1: 1, 2: 1, 3: 1 }, method_parameters: { top_n: 3, heap_factor: 1.2, k: 300 } } } } });
      const low = await run([...common, '--type', 'sparse_vector', '--ann-k', '10']);
      assert.match(low.err, /--ann-k 10 is below --k 300/);
      await assert.rejects(run([...common, '--top-n', '5']), /apply to --type sparse_vector only/);
      await assert.rejects(run([...common, '--type', 'sparse_vector', '--mode', 'rank_feature']), /--mode rank_feature needs --type rank_features/);
    } finally {
      await srv.close();
    }
  });

  it('opensearch create-index sparse_vector: refuses a 3.2 cluster, sends engine native only to 3.9+, never lucene', async () => {
    let version = '3.2.0';
    const srv = await scripted((r) => {
      if (r.path === '/') return { status: 200, body: rootBody(version) };
      if (r.method === 'HEAD') return { status: 404, body: {} };
      return { status: 200, body: { acknowledged: true } };
    });
    try {
      const args = ['opensearch', 'create-index', '--url', srv.url, '--index', 'x', '--type', 'sparse_vector'];
      await assert.rejects(run(args), /sparse_vector fields .* needs OpenSearch 3\.3 or later, and the cluster is 3\.2\.0/);
      assert.deepStrictEqual(srv.seen.map((r) => r.method), ['GET']); // nothing created
      version = '3.8.0';
      await assert.rejects(run([...args, '--engine', 'native']), /method\.engine needs OpenSearch 3\.9 or later, and the cluster is 3\.8\.0/);
      await run([...args, '--engine', 'lucene']);
      const puts = () => srv.seen.filter((r) => r.method === 'PUT').map((r) => JSON.parse(r.body).mappings.properties.embedding.method);
      assert.deepStrictEqual(puts(), [{ name: 'seismic' }]);
      version = '3.9.0';
      await run([...args, '--engine', 'native']);
      await run([...args, '--engine', 'lucene']);
      assert.deepStrictEqual(puts(), [{ name: 'seismic' }, { name: 'seismic', engine: 'native' }, { name: 'seismic' }]);
      // rank_features needs no version check: no GET / at all.
      const before = srv.seen.length;
      await run(['opensearch', 'create-index', '--url', srv.url, '--index', 'y']);
      assert.deepStrictEqual(srv.seen.slice(before).map((r) => r.method), ['HEAD', 'PUT']);
    } finally {
      await srv.close();
    }
  });

  it('opensearch ingest --refresh refreshes the index after the last batch', async () => {
    const dir = fixture();
    const srv = await scripted((r) => {
      if (r.path.endsWith('/_refresh')) return { status: 200, body: { _shards: { total: 1, successful: 1, failed: 0 } } };
      const ids = r.body.trim().split('\n').filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id as string);
      return { status: 200, body: { errors: false, items: ids.map((id) => ({ index: { _id: id, status: 201 } })) } };
    });
    try {
      const r = await run(['opensearch', 'ingest', '--url', srv.url, '--index', 'i', '--input', path.join(dir, 'v.jsonl'), '--vocab', path.join(dir, 'vocab.txt'),
        '--batch-size', '2', '--refresh', '--no-progress']);
      assert.deepStrictEqual(srv.seen.map((q) => q.path), ['/i/_bulk', '/i/_bulk', '/i/_refresh']);
      assert.match(r.out, /refreshed index 'i' \(1 shard copies\)/);
    } finally {
      await srv.close();
    }
  });

  it('export --field-type sparse_vector takes a 32,768-token vocabulary and refuses 32,769', async () => {
    const dir = fixture();
    const vocab = (n: number) => { const f = path.join(dir, `vocab${n}.txt`); fs.writeFileSync(f, ['[PAD]', 'hello', 'world', '.', ...Array.from({ length: n - 4 }, (_, i) => `t${i}`)].join('\n') + '\n'); return f; };
    const out = path.join(dir, 'sv.ndjson');
    const args = (n: number) => ['export', '--format', 'opensearch-bulk', '--field-type', 'sparse_vector', '--input', path.join(dir, 'v.jsonl'), '--vocab', vocab(n), '--out', out];
    await run(args(32768));
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(out, 'utf8').split('\n')[1]), { embedding: { 1: 1.5, 3: 0.5 } });
    fs.rmSync(out);
    await assert.rejects(run(args(32769)), /the vocabulary has 32769 token ids, but a sparse_vector \(SEISMIC\) field only keeps ids below 32768/);
    assert.ok(!fs.existsSync(out));
  });

  it('export --format opensearch-model prints the cluster settings deployment needs and refuses idf weights above 64', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-cli-out-'));
    const r = await run(['export', '--format', 'opensearch-model', '--model', modelDir({ hello: 64 }), '--out', out]);
    const settings = { persistent: { 'plugins.ml_commons.allow_registering_model_via_url': true, 'plugins.ml_commons.only_run_on_ml_node': false } };
    assert.ok(r.out.includes(`PUT _cluster/settings, body in ${path.join(out, 'cluster-settings.json')}`));
    assert.ok(r.out.includes(JSON.stringify(settings)));
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'cluster-settings.json'), 'utf8')), settings);
    await assert.rejects(run(['export', '--format', 'opensearch-model', '--model', modelDir({ hello: 64.0001 }), '--out', path.join(out, 'x')]),
      /the weight of "hello" is 64\.0001; .* must lie in \(0, 64\]\. Fix: divide every weight by 1\.0000015625/);
  });

  it('opensearch ingest names the URL when the cluster cannot be reached', async () => {
    const dir = fixture();
    await assert.rejects(run(['opensearch', 'ingest', '--url', 'http://127.0.0.1:9', '--index', 'i', '--input', path.join(dir, 'v.jsonl'),
      '--vocab', path.join(dir, 'vocab.txt'), '--max-retries', '0', '--no-progress']), /OpenSearch at http:\/\/127\.0\.0\.1:9: giving up after 1 attempts/);
  });
});
