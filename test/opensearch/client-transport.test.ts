/**
 * The official client's wiring (clientBulkTransport / clientSearchTransport) against a tiny HTTP server
 * on 127.0.0.1 that replays scripted _bulk / _search answers. It is NOT an OpenSearch: it only checks
 * what our code sends through the client and how it reads status codes and error bodies back.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import * as zlib from 'zlib';

import { ClusterUnavailableError } from '../../lib/opensearch/bulk';
import { clientBulkTransport, clientRootTransport, clientSearchTransport, createClient, createIndex, refreshIndex } from '../../lib/opensearch/client';
import { rankFeaturesIndexBody, sparseVectorIndexBody } from '../../lib/opensearch/mappings';
import { ingestBatches } from '../../lib/opensearch/ingest';
import { searchToTrec, weightsFromCsr } from '../../lib/opensearch/search';
import { requireClusterFeatures } from '../../lib/opensearch/versions';
import { IdfTable } from '../../lib/idf/idf-table';
import { QueryEncoder } from '../../lib/query/query-encoder';
import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';
import { csrFromRows } from '../../lib/sparse/csr';

interface Seen { method: string; url: string; contentType: string; body: string }

function scriptedServer(script: (req: Seen, n: number) => { status: number; body: unknown }): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), body: raw.toString('utf8') };
      seen.push(s);
      const answer = script(s, seen.length);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((r) => server.close(() => r())),
  })));
}

const noSleep = { sleep: async () => undefined, random: () => 0 };

describe('opensearch: official client wiring (scripted local _bulk/_search endpoint, not an OpenSearch)', () => {
  it('posts our NDJSON unchanged to /<index>/_bulk, retries a 429 response, reports a per-doc 400', async () => {
    const srv = await scriptedServer((req, n) => {
      if (n === 1) return { status: 429, body: { error: { type: 'es_rejected_execution_exception', reason: 'queue full' }, status: 429 } };
      const ids = req.body.trim().split('\n').filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id as string);
      return { status: 200, body: { took: 1, errors: true, items: ids.map((id) => (id === 'b'
        ? { index: { _index: 'idx', _id: id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [e]' } } }
        : { index: { _index: 'idx', _id: id, status: 201, result: 'created' } })) } };
    });
    try {
      const client = createClient({ url: srv.url });
      const rep = await ingestBatches([{ ids: ['a', 'b'], csr: csrFromRows([[[1, 0.5]], [[2, 2]]], 3) }], {
        transport: clientBulkTransport(client, 'idx'), field: 'e', fieldType: 'rank_features', vocab: ['[PAD]', 'x', 'y.z'], retryHooks: noSleep,
      });
      assert.strictEqual(srv.seen.length, 2);
      assert.strictEqual(srv.seen[1].method, 'POST');
      assert.strictEqual(srv.seen[1].url.split('?')[0], '/idx/_bulk');
      assert.match(srv.seen[1].contentType, /ndjson/);
      assert.strictEqual(srv.seen[1].body, '{"index":{"_id":"a"}}\n{"e":{"x":0.5}}\n{"index":{"_id":"b"}}\n{"e":{"y%2Ez":2}}\n');
      assert.strictEqual(rep.docsIndexed, 1);
      assert.deepStrictEqual(rep.failureSample.map((f) => [f.id, f.status, f.type]), [['b', 400, 'mapper_parsing_exception']]);
    } finally {
      await srv.close();
    }
  });

  it('turns search hits into TREC lines and a 400 into a reported query failure', async () => {
    const srv = await scriptedServer((req) => {
      const body = JSON.parse(req.body);
      if (body.query.bool.should.length === 1) return { status: 400, body: { error: { type: 'search_phase_execution_exception', reason: 'all shards failed' }, status: 400 } };
      return { status: 200, body: { hits: { hits: [{ _id: 'd9', _score: 7.5 }, { _id: 'd2', _score: 1.25 }] } } };
    });
    try {
      const lines: string[] = [];
      const rep = await searchToTrec([{ id: 'q1', tokens: ['hello', 'world'] }, { id: 'q2', tokens: ['hello'] }, { id: 'q3', tokens: [] }], {
        transport: clientSearchTransport(createClient({ url: srv.url })), index: 'idx', field: 'e', mode: 'rank_feature', fieldType: 'rank_features',
        idf: { hello: 2 }, k: 2, tag: 'run1',
      }, async (l) => { lines.push(l); });
      assert.deepStrictEqual(lines, ['q1 Q0 d9 1 7.5 run1', 'q1 Q0 d2 2 1.25 run1']);
      assert.strictEqual(srv.seen[0].url.split('?')[0], '/idx/_search');
      assert.deepStrictEqual(JSON.parse(srv.seen[0].body).query.bool.should[0], { rank_feature: { field: 'e.hello', boost: 2, linear: {} } });
      assert.deepStrictEqual(rep.failures.map((f) => [f.qid, f.status]), [['q2', 400]]);
      assert.strictEqual(rep.emptyQueries, 1);
    } finally {
      await srv.close();
    }
  });

  it('encodes text queries with lib/query (tokens without specials, relu(idf)) before searching', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-q-'));
    fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n.\n');
    const tokenizer = TextTokenizer.fromFile(path.join(dir, 'vocab.txt'));
    const encoder = QueryEncoder.fromIdf(tokenizer, IdfTable.fromEntries([['hello', 2.5], ['.', 0.5], ['world', -1]]));
    const srv = await scriptedServer(() => ({ status: 200, body: { hits: { hits: [{ _id: 'd1', _score: 3 }] } } }));
    try {
      const rep = await searchToTrec([{ id: 'q1', text: 'Hello, world hello.' }], {
        transport: clientSearchTransport(createClient({ url: srv.url })), index: 'idx', field: 'e', mode: 'neural_sparse', fieldType: 'rank_features',
        idf: {}, k: 1, encodeText: async (texts) => weightsFromCsr(await encoder.encode(texts), (id) => tokenizer.idToToken(id)),
      }, async () => undefined);
      assert.strictEqual(rep.lines, 1);
      // ',' is [UNK] (a special token, weight 0); 'world' has a negative idf (relu -> 0); '.' is escaped.
      assert.deepStrictEqual(JSON.parse(srv.seen[0].body).query, { neural_sparse: { e: { query_tokens: { hello: 2.5, '%2E': 0.5 } } } });
    } finally {
      await srv.close();
    }
  });

  it('createIndex checks existence (HEAD), then PUTs the body; an existing index is an error, skip, or recreate', async () => {
    let exists = false;
    const srv = await scriptedServer((req) => {
      if (req.method === 'HEAD') return { status: exists ? 200 : 404, body: {} };
      if (req.method === 'PUT') { exists = true; return { status: 200, body: { acknowledged: true, index: 'idx' } }; }
      if (req.method === 'DELETE') { exists = false; return { status: 200, body: { acknowledged: true } }; }
      return { status: 405, body: {} };
    });
    try {
      const client = createClient({ url: srv.url });
      const body = rankFeaturesIndexBody('e');
      assert.deepStrictEqual(await createIndex(client, 'idx', body), { created: true, existed: false });
      assert.deepStrictEqual(JSON.parse(srv.seen[1].body), body);
      assert.strictEqual(srv.seen[1].url.split('?')[0], '/idx');
      await assert.rejects(createIndex(client, 'idx', body), /already exists/);
      assert.deepStrictEqual(await createIndex(client, 'idx', body, 'skip'), { created: false, existed: true });
      assert.deepStrictEqual(await createIndex(client, 'idx', body, 'recreate'), { created: true, existed: true });
      assert.deepStrictEqual(srv.seen.map((r) => r.method), ['HEAD', 'PUT', 'HEAD', 'HEAD', 'HEAD', 'DELETE', 'PUT']);
    } finally {
      await srv.close();
    }
  });

  it('createIndex passes on the server\'s reason when the body is refused', async () => {
    const srv = await scriptedServer((req) => (req.method === 'HEAD' ? { status: 404, body: {} }
      : { status: 400, body: { error: { type: 'mapper_parsing_exception', reason: 'No handler for type [sparse_vector] declared on field [e]' }, status: 400 } }));
    try {
      await assert.rejects(createIndex(createClient({ url: srv.url }), 'idx', sparseVectorIndexBody('e')),
        /HTTP 400: mapper_parsing_exception No handler for type \[sparse_vector\]/);
    } finally {
      await srv.close();
    }
  });

  it('reports an unreachable cluster instead of losing documents', async () => {
    const srv = await scriptedServer(() => ({ status: 200, body: {} }));
    const url = srv.url;
    await srv.close(); // nothing listens on this port any more
    const transport = clientBulkTransport(createClient({ url, requestTimeoutMs: 2000 }), 'idx');
    await assert.rejects(ingestBatches([{ ids: ['a'], csr: csrFromRows([[[0, 1]]], 1) }], {
      transport, field: 'e', fieldType: 'sparse_vector', retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 }, retryHooks: noSleep,
    }), (e: Error) => e instanceof ClusterUnavailableError && /ECONNREFUSED|ConnectionError/.test(e.message));
  });
});

/** The body GET / answers on an OpenSearch cluster (trimmed to the fields we read). */
const root = (number: string, distribution = 'opensearch') => ({ name: 'n1', cluster_name: 'c', version: { distribution, number, build_type: 'tar' }, tagline: 'The OpenSearch Project: https://opensearch.org/' });

describe('opensearch: what a first run against a real cluster needs (scripted local endpoint, not an OpenSearch)', () => {
  it('reads the version from GET / and refuses a feature the cluster lacks, before anything else is sent', async () => {
    let number = '2.13.0';
    const srv = await scriptedServer(() => ({ status: 200, body: root(number) }));
    try {
      const transport = clientRootTransport(createClient({ url: srv.url }));
      const warnings: string[] = [];
      const warn = (m: string) => { warnings.push(m); };
      await assert.rejects(requireClusterFeatures(transport, ['query_tokens'], warn),
        /^Error: neural_sparse with raw query_tokens needs OpenSearch 2\.14 or later, and the cluster is 2\.13\.0$/);
      assert.deepStrictEqual(srv.seen.map((r) => [r.method, r.url.split('?')[0]]), [['GET', '/']]);
      number = '2.14.0';
      assert.deepStrictEqual(await requireClusterFeatures(transport, ['query_tokens'], warn), { version: { major: 2, minor: 14, patch: 0, text: '2.14.0' } });
      number = '3.2.0';
      await assert.rejects(requireClusterFeatures(transport, ['query_tokens', 'sparse_vector'], warn), /sparse_vector fields .* needs OpenSearch 3\.3 or later, and the cluster is 3\.2\.0/);
      number = '3.3.0';
      await requireClusterFeatures(transport, ['query_tokens', 'sparse_vector'], warn);
      assert.deepStrictEqual(warnings, []);
    } finally {
      await srv.close();
    }
  });

  it('warns and goes on when the version cannot be read (403, compatibility override, not OpenSearch, no answer)', async () => {
    const answers = [
      { status: 403, body: { error: { type: 'security_exception', reason: 'no permissions for [cluster:monitor/main]' }, status: 403 } },
      { status: 200, body: root('7.10.2') },
      { status: 200, body: { version: { number: '8.15.0', build_flavor: 'default' } } },
    ];
    const srv = await scriptedServer((_, n) => answers[n - 1]);
    const warnings: string[] = [];
    try {
      const transport = clientRootTransport(createClient({ url: srv.url }));
      for (let i = 0; i < answers.length; i++) assert.ok('unknown' in await requireClusterFeatures(transport, ['query_tokens'], (m) => { warnings.push(m); }));
    } finally {
      await srv.close();
    }
    const gone = clientRootTransport(createClient({ url: srv.url, requestTimeoutMs: 2000 })); // nothing listens any more
    assert.ok('unknown' in await requireClusterFeatures(gone, ['sparse_vector'], (m) => { warnings.push(m); }));
    assert.strictEqual(warnings.length, 4);
    assert.match(warnings[0], /GET \/ answered HTTP 403; sending anyway \(neural_sparse with raw query_tokens needs 2\.14\+\)/);
    assert.match(warnings[1], /compatibility override/);
    assert.match(warnings[2], /does not report distribution "opensearch"/);
    assert.match(warnings[3], /GET \/ got no response/);
  });

  it('neural_sparse: a query whose largest weight is above 64 goes out divided by max/64, its scores come back multiplied', async () => {
    // The scripted hits score what a cluster would compute for the scaled query: d1 {a: 1, b: 2} -> 64 + 16*2 = 96.
    const srv = await scriptedServer(() => ({ status: 200, body: { hits: { hits: [{ _id: 'd1', _score: 96 }, { _id: 'd2', _score: 0.5 }] } } }));
    try {
      const lines: string[] = [];
      const rep = await searchToTrec([{ id: 'q1', weights: { a: 128, b: 32 } }, { id: 'q2', weights: { a: 64, b: 32 } }], {
        transport: clientSearchTransport(createClient({ url: srv.url })), index: 'idx', field: 'e', mode: 'neural_sparse', fieldType: 'rank_features',
        idf: {}, k: 2, tag: 't', concurrency: 1,
      }, async (l) => { lines.push(l); });
      assert.deepStrictEqual(srv.seen.map((r) => JSON.parse(r.body).query.neural_sparse.e.query_tokens), [{ a: 64, b: 16 }, { a: 64, b: 32 }]);
      // Integer scores are spelled as lib/data/trec.ts writes every run (192.0). q1: 96 * (128 / 64) = 192 = 1 * 128 + 2 * 32, the dot product with the unscaled query; q2 (max exactly 64) is unchanged.
      assert.deepStrictEqual(lines, ['q1 Q0 d1 1 192.0 t', 'q1 Q0 d2 2 1.0 t', 'q2 Q0 d1 1 96.0 t', 'q2 Q0 d2 2 0.5 t']);
      assert.strictEqual(rep.scaledQueries, 1);
    } finally {
      await srv.close();
    }
  });

  it('sparse_vector search asks SEISMIC for k hits (not its default 10) and every query token; refuses ids of 32,768 and above', async () => {
    const srv = await scriptedServer(() => ({ status: 200, body: { hits: { hits: [] } } }));
    try {
      const base = {
        transport: clientSearchTransport(createClient({ url: srv.url })), index: 'idx', field: 'sv', mode: 'neural_sparse' as const, fieldType: 'sparse_vector' as const,
        idf: { hello: 2.5 }, k: 1000,
      };
      const ids = new Map([['hello', 7592], ['world', 2088], ['top', 32767]]);
      await searchToTrec([{ id: 'q1', tokens: ['hello', 'world', 'top'] }], { ...base, tokenToId: ids }, async () => undefined);
      assert.deepStrictEqual(JSON.parse(srv.seen[0].body), {
        size: 1000, _source: false,
        query: { neural_sparse: { sv: { query_tokens: { 7592: 2.5, 2088: 1, 32767: 1 }, method_parameters: { top_n: 3, heap_factor: 1, k: 1000 } } } },
      });
      const big = new Map([...ids, ['beyond', 32768]]);
      await assert.rejects(searchToTrec([{ id: 'q1', tokens: ['hello'] }], { ...base, tokenToId: big }, async () => undefined),
        /query vocabulary has 32769 token ids/);
      await assert.rejects(searchToTrec([{ id: 'q1', tokens: ['hello'] }], { ...base, tokenToId: ids, methodParameters: { k: 0 } }, async () => undefined), /k must be an integer > 0/);
      await assert.rejects(searchToTrec([{ id: 'q1', tokens: ['hello'] }], { ...base, fieldType: 'rank_features', methodParameters: { top_n: 5 } }, async () => undefined),
        /sparse_vector fields only/);
      assert.strictEqual(srv.seen.length, 1); // the refused runs sent nothing
    } finally {
      await srv.close();
    }
  });

  it('sparse_vector ingest takes 32,768 columns and refuses 32,769 before sending anything', async () => {
    const srv = await scriptedServer((req) => {
      const ids = req.body.trim().split('\n').filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id as string);
      return { status: 200, body: { errors: false, items: ids.map((id) => ({ index: { _id: id, status: 201 } })) } };
    });
    try {
      const transport = clientBulkTransport(createClient({ url: srv.url }), 'idx');
      const rep = await ingestBatches([{ ids: ['a'], csr: csrFromRows([[[32767, 1.5]]], 32768) }], { transport, field: 'e', fieldType: 'sparse_vector' });
      assert.strictEqual(rep.docsIndexed, 1);
      assert.strictEqual(srv.seen[0].body, '{"index":{"_id":"a"}}\n{"e":{"32767":1.5}}\n');
      await assert.rejects(ingestBatches([{ ids: ['a'], csr: csrFromRows([[[1, 1.5]]], 32769) }], { transport, field: 'e', fieldType: 'sparse_vector' }),
        /input \(CSR columns\) has 32769 token ids/);
      const vocab = Array.from({ length: 32769 }, (_, i) => `t${i}`);
      await assert.rejects(ingestBatches([{ ids: ['a'], csr: csrFromRows([[[1, 1.5]]], 3) }], { transport, field: 'e', fieldType: 'sparse_vector', vocab }),
        /vocabulary has 32769 token ids/);
      assert.strictEqual(srv.seen.length, 1);
    } finally {
      await srv.close();
    }
  });

  it('refreshIndex calls /<index>/_refresh and reports shard failures', async () => {
    const srv = await scriptedServer((req) => (req.url.startsWith('/missing')
      ? { status: 404, body: { error: { type: 'index_not_found_exception', reason: 'no such index [missing]' }, status: 404 } }
      : { status: 200, body: { _shards: { total: 2, successful: 1, failed: 1 } } }));
    try {
      const client = createClient({ url: srv.url });
      assert.deepStrictEqual(await refreshIndex(client, 'idx'), { total: 2, failed: 1 });
      // The Refresh API takes GET or POST on /<index>/_refresh; the client picks the method.
      assert.ok(['GET', 'POST'].includes(srv.seen[0].method));
      assert.strictEqual(srv.seen[0].url.split('?')[0], '/idx/_refresh');
      await assert.rejects(refreshIndex(client, 'missing'), /refreshing index 'missing' failed with HTTP 404: index_not_found_exception no such index \[missing\]/);
    } finally {
      await srv.close();
    }
  });
});
