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
import { clientBulkTransport, clientSearchTransport, createClient, createIndex } from '../../lib/opensearch/client';
import { rankFeaturesIndexBody, sparseVectorIndexBody } from '../../lib/opensearch/mappings';
import { ingestBatches } from '../../lib/opensearch/ingest';
import { searchToTrec, weightsFromCsr } from '../../lib/opensearch/search';
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
