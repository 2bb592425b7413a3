/**
 * Our retry / partial-failure logic, driven by a transport function of our own that returns scripted
 * responses in the documented _bulk response shape. No OpenSearch involved or imitated beyond that.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { API, Types } from '@opensearch-project/opensearch';

import {
  backoffDelay, type BulkDoc, BulkRequestError, type BulkTransport, ClusterUnavailableError, sendBulkWithRetry,
} from '../../lib/opensearch/bulk';
import { Checkpoint } from '../../lib/opensearch/checkpoint';
import { ingestBatches } from '../../lib/opensearch/ingest';
import { csrFromRows } from '../../lib/sparse/csr';

const docs = (ids: string[]): BulkDoc[] => ids.map((id) => ({ id, lines: [`{"index":{"_id":"${id}"}}`, '{"e":{"a":1}}'] }));
const idsOf = (ndjson: string) => ndjson.trim().split('\n').filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id as string);
// Scripted answers typed with the OpenSearch API specification's bulk response types (official client).
const ok = (id: string): Types.Core_Bulk.Item => ({ index: { _index: 'idx', _id: id, status: 201, result: 'created' } });
const err = (id: string, status: number, type: string): Types.Core_Bulk.Item =>
  ({ index: { _index: 'idx', _id: id, status, error: { type, reason: `${type} for ${id}` } } });
const bulkBody = (items: Types.Core_Bulk.Item[]): API.Bulk_ResponseBody => ({ took: 1, errors: items.some((i) => i.index?.error !== undefined), items });
const noSleep = { sleep: async () => undefined, random: () => 0.5 };

describe('opensearch: bulk retries (scripted transport function)', () => {
  it('re-sends only items rejected with 429 and reports mapping errors per document', async () => {
    const sent: string[][] = [];
    let call = 0;
    const transport: BulkTransport = async (body) => {
      const ids = idsOf(body);
      sent.push(ids);
      call++;
      if (call === 1) return { status: 200, body: bulkBody([ok('a'), err('b', 429, 'es_rejected_execution_exception'), err('c', 400, 'mapper_parsing_exception'), ok('d')]) };
      return { status: 200, body: bulkBody(ids.map(ok)) };
    };
    const failures = await sendBulkWithRetry(transport, docs(['a', 'b', 'c', 'd']), { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 100 }, noSleep);
    assert.deepStrictEqual(sent, [['a', 'b', 'c', 'd'], ['b']]);
    assert.deepStrictEqual(failures, [{ id: 'c', status: 400, type: 'mapper_parsing_exception', reason: 'mapper_parsing_exception for c', attempts: 1 }]);
  });

  it('retries connection errors and 503 with exponential backoff, then succeeds', async () => {
    const delays: number[] = [];
    let call = 0;
    const transport: BulkTransport = async (body) => {
      call++;
      if (call === 1) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { name: 'ConnectionError' });
      if (call === 2) return { status: 503, body: { error: { type: 'unavailable', reason: 'busy' } } };
      return { status: 200, body: bulkBody(idsOf(body).map(ok)) };
    };
    const failures = await sendBulkWithRetry(transport, docs(['a']), { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 },
      { sleep: async (ms) => { delays.push(ms); }, random: () => 0.999 });
    assert.deepStrictEqual(failures, []);
    assert.deepStrictEqual(delays, [99, 199]); // full jitter below 100 * 2^0, 100 * 2^1
  });

  it('caps the backoff at maxDelayMs', () => {
    const policy = { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.strictEqual(backoffDelay(8, policy, () => 0.9999), 999);
    assert.strictEqual(backoffDelay(0, policy, () => 0), 0);
  });

  it('gives up on an unreachable cluster with ClusterUnavailableError after maxRetries', async () => {
    let calls = 0;
    const transport: BulkTransport = async () => { calls++; throw new Error('getaddrinfo ENOTFOUND nowhere'); };
    await assert.rejects(sendBulkWithRetry(transport, docs(['a']), { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 }, noSleep),
      (e: Error) => e instanceof ClusterUnavailableError && /3 attempts/.test(e.message) && /ENOTFOUND/.test(e.message));
    assert.strictEqual(calls, 3);
  });

  it('reports items still rejected after the last retry as failures, not silently', async () => {
    const transport: BulkTransport = async (body) => ({ status: 200, body: bulkBody(idsOf(body).map((id) => err(id, 429, 'es_rejected_execution_exception'))) });
    const failures = await sendBulkWithRetry(transport, docs(['a', 'b']), { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 }, noSleep);
    assert.deepStrictEqual(failures.map((f) => [f.id, f.status, f.attempts]), [['a', 429, 2], ['b', 429, 2]]);
  });

  it('stops on a non-retryable whole-request status (401) with its reason', async () => {
    const transport: BulkTransport = async () => ({ status: 401, body: { error: { type: 'security_exception', reason: 'missing authentication' } } });
    await assert.rejects(sendBulkWithRetry(transport, docs(['a']), undefined, noSleep),
      (e: Error) => e instanceof BulkRequestError && e.status === 401 && /missing authentication/.test(e.message));
  });

  it('refuses a response whose item count does not match the request', async () => {
    const transport: BulkTransport = async () => ({ status: 200, body: bulkBody([]) });
    await assert.rejects(sendBulkWithRetry(transport, docs(['a']), undefined, noSleep), /0 items for 1 actions/);
  });
});

describe('opensearch: ingest with checkpoints (scripted transport function)', () => {
  const vocab = ['[PAD]', 'a', 'b', 'c.d'];
  const batch = (from: number, n: number) => ({
    ids: Array.from({ length: n }, (_, i) => `doc${from + i}`),
    csr: csrFromRows(Array.from({ length: n }, (_, i) => [[1, 1 + i], [3, 0.5], [2, i === 0 ? NaN : 2]] as [number, number][]), vocab.length),
  });

  it('sends batches, records per-doc failures, and resumes from the checkpoint after a cluster outage', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-ingest-'));
    const cpFile = path.join(dir, 'cp.json');
    const failuresFile = path.join(dir, 'failures.jsonl');
    const identity = { input: 'x.jsonl', index: 'idx', field: 'e', batchSize: 3 };
    const bodies: string[] = [];
    let down = false;
    const transport: BulkTransport = async (body) => {
      if (down) throw new Error('connect ECONNREFUSED');
      bodies.push(body);
      const ids = idsOf(body);
      if (ids.includes('doc4')) down = true; // the cluster goes away after answering this batch
      return { status: 200, body: bulkBody(ids.map((id) => (id === 'doc1' ? err(id, 400, 'mapper_parsing_exception') : ok(id)))) };
    };
    const input = () => [batch(0, 4), batch(4, 4)]; // 8 docs -> bulk batches of 3: [0-2], [3-5], [6-7]
    const opts = { transport, field: 'e', fieldType: 'rank_features' as const, vocab, batchSize: 3, concurrency: 1, failuresFile,
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 }, retryHooks: noSleep };
    await assert.rejects(ingestBatches(input(), { ...opts, checkpoint: Checkpoint.open(cpFile, identity) }),
      (e: Error) => e instanceof ClusterUnavailableError && /rerun the same command to resume/.test(e.message));
    const state = JSON.parse(fs.readFileSync(cpFile, 'utf8'));
    assert.deepStrictEqual(state.done, [[0, 2]]);
    assert.strictEqual(state.docsFailed, 1);
    // The NDJSON sent: index action, then the source with escaped keys and NaN dropped.
    assert.strictEqual(bodies[0].split('\n').slice(0, 2).join('\n'), '{"index":{"_id":"doc0"}}\n{"e":{"a":1,"c%2Ed":0.5}}');
    down = false;
    bodies.length = 0;
    const rep = await ingestBatches(input(), { ...opts, checkpoint: Checkpoint.open(cpFile, identity) });
    assert.deepStrictEqual(bodies.map(idsOf), [['doc6', 'doc7']]);
    assert.strictEqual(rep.docsSkipped, 6);
    assert.strictEqual(rep.docsIndexed, 2);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(cpFile, 'utf8')).done, [[0, 3]]);
    const failed = fs.readFileSync(failuresFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepStrictEqual(failed.map((f) => [f.id, f.type]), [['doc1', 'mapper_parsing_exception']]);
    assert.throws(() => Checkpoint.open(cpFile, { ...identity, batchSize: 4 }), /another run/);
  });

  it('on an input error, finishes the requests in flight and checkpoints them before reporting it', async () => {
    const sent: string[][] = [];
    const transport: BulkTransport = async (body) => {
      await new Promise((r) => setTimeout(r, 5));
      sent.push(idsOf(body));
      return { status: 200, body: bulkBody(idsOf(body).map(ok)) };
    };
    async function* input() {
      yield batch(0, 4);
      throw new Error('v.jsonl:5: not JSON');
    }
    const cp = Checkpoint.open(null, { input: 'v', index: 'i', field: 'e', batchSize: 2 });
    await assert.rejects(ingestBatches(input(), { transport, field: 'e', fieldType: 'sparse_vector', batchSize: 2, concurrency: 2, checkpoint: cp }),
      /v\.jsonl:5: not JSON — stopped after 2 documents indexed in this run; 1 batches are checkpointed/);
    assert.deepStrictEqual(sent, [['doc0', 'doc1']]); // the second batch was still being filled
    assert.deepStrictEqual(cp.state().done, [[0, 1]]);
  });

  it('sends at most `concurrency` requests at a time', async () => {
    let inFlight = 0;
    let peak = 0;
    const transport: BulkTransport = async (body) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { status: 200, body: bulkBody(idsOf(body).map(ok)) };
    };
    const rep = await ingestBatches([batch(0, 20)], { transport, field: 'e', fieldType: 'sparse_vector', batchSize: 2, concurrency: 3 });
    assert.strictEqual(rep.docsIndexed, 20);
    assert.strictEqual(rep.batchesSent, 10);
    assert.strictEqual(peak, 3);
  });
});
