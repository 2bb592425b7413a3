/**
 * Against a real OpenSearch, only when OPENSEARCH_URL is set (credentials: OPENSEARCH_USER /
 * OPENSEARCH_PASSWORD; OPENSEARCH_INSECURE=1 for self-signed TLS). Otherwise every test here is skipped
 * with the reason printed. It creates and deletes indices named l0sparse-it-*.
 */
import * as assert from 'assert';

import type { Client } from '@opensearch-project/opensearch';

import { clientBulkTransport, clientSearchTransport, createClient, createIndex } from '../../lib/opensearch/client';
import { ingestBatches } from '../../lib/opensearch/ingest';
import { rankFeaturesIndexBody, sparseVectorIndexBody } from '../../lib/opensearch/mappings';
import { type QueryInput, searchToTrec, type SearchOptions } from '../../lib/opensearch/search';
import { csrFromRows } from '../../lib/sparse/csr';

const URL = process.env.OPENSEARCH_URL;
const vocab = ['[PAD]', 'hello', 'world', '.', 'a.m.', 'planet'];
// doc -> {token id: weight}; weights are exact in 9 significant bits so scores can be compared exactly.
const docs: Record<string, [number, number][]> = {
  d1: [[1, 2], [2, 0.5]],
  d2: [[2, 3], [3, 1.5]],
  d3: [[4, 4], [5, 0.25], [1, -1]], // -1 is dropped by the cleaner
};
const batch = () => ({ ids: Object.keys(docs), csr: csrFromRows(Object.values(docs), vocab.length) });
const idf = { hello: 2, world: 1, '.': 3, 'a.m.': 0.5 };

function expectedScore(doc: string, tokens: string[]): number {
  let s = 0;
  for (const [id, w] of docs[doc]) if (w > 0 && tokens.includes(vocab[id])) s += w * ((idf as Record<string, number>)[vocab[id]] ?? 1);
  return s;
}

describe('opensearch: integration with a real cluster (OPENSEARCH_URL)', function () {
  this.timeout(120_000);
  let client: Client;
  let version = '';
  let neuralSearch = false;
  const created: string[] = [];

  before(async function () {
    if (!URL) {
      // eslint-disable-next-line no-console
      console.log('    skipped: OPENSEARCH_URL is not set (e.g. OPENSEARCH_URL=http://localhost:9200 npx mocha ...)');
      this.skip();
    }
    client = createClient({ url: URL!, username: process.env.OPENSEARCH_USER, password: process.env.OPENSEARCH_PASSWORD, insecure: process.env.OPENSEARCH_INSECURE === '1' });
    version = String(((await client.info()).body as { version?: { number?: string } }).version?.number ?? '');
    // neural_sparse and sparse_vector come with the neural-search plugin (in the official distribution).
    const plugins = (await client.cat.plugins({ format: 'json' })).body as { component?: string }[];
    neuralSearch = plugins.some((p) => p.component === 'opensearch-neural-search');
    if (!neuralSearch) console.log('    note: opensearch-neural-search is not installed; neural_sparse and sparse_vector checks are skipped'); // eslint-disable-line no-console
  });

  after(async () => {
    for (const index of created) await client.indices.delete({ index }).catch(() => undefined);
  });

  async function search(o: Partial<SearchOptions> & Pick<SearchOptions, 'index' | 'mode' | 'fieldType'>, queries: QueryInput[]) {
    const lines: string[] = [];
    const rep = await searchToTrec(queries, { transport: clientSearchTransport(client), field: 'e', idf, k: 10, ...o } as SearchOptions,
      async (l) => { lines.push(l); });
    return { rep, rows: lines.map((l) => l.split(' ')) };
  }

  it('rank_features: ingest, then rank_feature and neural_sparse scores equal the dot product', async () => {
    const index = `l0sparse-it-rf-${Date.now()}`;
    created.push(index);
    await createIndex(client, index, rankFeaturesIndexBody('e', { shards: 1, replicas: 0 }));
    const rep = await ingestBatches([batch()], { transport: clientBulkTransport(client, index), field: 'e', fieldType: 'rank_features', vocab });
    assert.strictEqual(rep.docsIndexed, 3);
    assert.strictEqual(rep.drops.nonPositive, 1);
    await client.indices.refresh({ index });
    const queries = [{ id: 'q1', tokens: ['hello', 'world'] }, { id: 'q2', tokens: ['.', 'a.m.'] }];
    for (const mode of neuralSearch ? ['rank_feature', 'neural_sparse'] as const : ['rank_feature'] as const) {
      const { rep: srep, rows } = await search({ index, mode, fieldType: 'rank_features' }, queries);
      assert.deepStrictEqual(srep.failures, []);
      for (const [qid, , docid, , score] of rows) {
        const q = queries.find((x) => x.id === qid)!;
        assert.ok(Math.abs(Number(score) - expectedScore(docid, q.tokens)) < 1e-4, `${mode} ${qid} ${docid}: ${score} vs ${expectedScore(docid, q.tokens)}`);
      }
      // Dotted tokens were escaped at ingest and at query time, so they match.
      assert.deepStrictEqual(rows.filter((r) => r[0] === 'q2').map((r) => r[2]), ['d2', 'd3']);
      assert.deepStrictEqual(rows.filter((r) => r[0] === 'q1').map((r) => r[2]), ['d1', 'd2']);
    }
    if (neuralSearch) {
      // Weights above 64 would be refused by Lucene's linear feature query: sent divided by 200/64, scores multiplied back.
      const { rep: srep, rows } = await search({ index, mode: 'neural_sparse', fieldType: 'rank_features' }, [{ id: 'q3', weights: { hello: 200, world: 10 } }]);
      assert.deepStrictEqual(srep.failures, []);
      assert.strictEqual(srep.scaledQueries, 1);
      // d1 = hello 2, world 0.5 -> 405; d2 = world 3 -> 30.
      assert.deepStrictEqual(rows.map((r) => [r[2], Math.round(Number(r[4]) * 1000) / 1000]), [['d1', 405], ['d2', 30]]);
    }
  });

  it('reports per-document mapping failures from the cluster without stopping', async () => {
    const index = `l0sparse-it-bad-${Date.now()}`;
    created.push(index);
    // The field is an integer here, so every vector object is a mapper_parsing_exception.
    await createIndex(client, index, { mappings: { properties: { e: { type: 'integer' } } } });
    const rep = await ingestBatches([batch()], { transport: clientBulkTransport(client, index), field: 'e', fieldType: 'rank_features', vocab });
    assert.strictEqual(rep.docsIndexed, 0);
    assert.strictEqual(rep.docsFailed, 3);
    assert.ok(rep.failureSample.every((f) => f.status === 400 && /parsing/.test(f.type)), JSON.stringify(rep.failureSample));
  });

  it('sparse_vector (SEISMIC, OpenSearch >= 3.3): ingest by token id and neural_sparse search', async function () {
    const [major, minor] = version.split('.').map(Number);
    if (!neuralSearch || !(major > 3 || (major === 3 && minor >= 3))) {
      // eslint-disable-next-line no-console
      console.log(`    skipped: cluster is OpenSearch ${version}${neuralSearch ? '' : ' without neural-search'}; sparse_vector needs 3.3+ with the neural-search plugin`);
      this.skip();
    }
    const index = `l0sparse-it-sv-${Date.now()}`;
    created.push(index);
    await createIndex(client, index, sparseVectorIndexBody('e', { n_postings: 10, approximate_threshold: 1000000 }, { shards: 1, replicas: 0 }));
    const rep = await ingestBatches([batch()], { transport: clientBulkTransport(client, index), field: 'e', fieldType: 'sparse_vector' });
    assert.strictEqual(rep.docsIndexed, 3);
    await client.indices.refresh({ index });
    const tokenToId = new Map(vocab.map((t, i) => [t, i]));
    // method_parameters take our defaults (k = 10 hits asked for, top_n = both tokens, heap_factor 1).
    const { rep: srep, rows } = await search({ index, mode: 'neural_sparse', fieldType: 'sparse_vector', tokenToId },
      [{ id: 'q1', tokens: ['hello', 'world'] }]);
    assert.deepStrictEqual(srep.failures, []);
    // Below approximate_threshold the segment is searched exactly; sparse_vector quantises weights, so compare ranks only.
    assert.deepStrictEqual(rows.map((r) => r[2]), ['d1', 'd2']);
  });
});
