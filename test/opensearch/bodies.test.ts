/**
 * Request bodies against the formats the OpenSearch documentation shows (expected JSON written by hand
 * from those pages; see docs/OPENSEARCH.md "References"). Where the OpenSearch API specification types
 * shipped with the official client cover a body, the expected literal is also typed with them, so tsc
 * checks it independently (an unknown key such as `linearr` fails to compile). The spec types in client
 * 3.9 know neither the sparse_vector field nor neural_sparse's method_parameters; those rely on the docs.
 */
import * as assert from 'assert';

import type { API } from '@opensearch-project/opensearch';

import { rankFeaturesIndexBody, sparseVectorIndexBody, validateSeismicParameters } from '../../lib/opensearch/mappings';
import { neuralSparseSearchBody, queryTermsForIds, queryTermsFromTokens, rankFeatureSearchBody } from '../../lib/opensearch/queries';
import { type SearchOptions, termsOf } from '../../lib/opensearch/search';

const plain = (o: unknown) => JSON.parse(JSON.stringify(o));

describe('opensearch: index bodies', () => {
  it('rank_features mapping as on the "Rank field types" page', () => {
    const expected: API.Indices_Create_RequestBody = {
      settings: { index: {} },
      mappings: { properties: { passage_embedding: { type: 'rank_features' } } },
    };
    assert.deepStrictEqual(plain(rankFeaturesIndexBody('passage_embedding')), expected);
    const withSettings: API.Indices_Create_RequestBody = {
      settings: { index: { number_of_shards: 2, number_of_replicas: 0 } },
      mappings: { properties: { e: { type: 'rank_features' }, doc_id: { type: 'keyword' } } },
    };
    assert.deepStrictEqual(plain(rankFeaturesIndexBody('e', { shards: 2, replicas: 0, idField: 'doc_id' })), withSettings);
  });

  it('sparse_vector mapping with SEISMIC as in the "Sparse vector" page example (index.sparse = true)', () => {
    const body = sparseVectorIndexBody('sparse_embedding', { n_postings: 300, cluster_ratio: 0.1, summary_prune_ratio: 0.4, approximate_threshold: 1000000 });
    assert.deepStrictEqual(plain(body), {
      settings: { index: { sparse: true } },
      mappings: {
        properties: {
          sparse_embedding: {
            type: 'sparse_vector',
            method: { name: 'seismic', parameters: { n_postings: 300, cluster_ratio: 0.1, summary_prune_ratio: 0.4, approximate_threshold: 1000000 } },
          },
        },
      },
    });
    assert.deepStrictEqual(plain(sparseVectorIndexBody('s')).mappings.properties.s, { type: 'sparse_vector', method: { name: 'seismic' } });
    // The 3.9 page's method object: name, engine, parameters.
    assert.deepStrictEqual(plain(sparseVectorIndexBody('s', { n_postings: 10 }, {}, 'native')).mappings.properties.s,
      { type: 'sparse_vector', method: { name: 'seismic', engine: 'native', parameters: { n_postings: 10 } } });
    assert.throws(() => sparseVectorIndexBody('s', {}, {}, 'faiss' as 'native'), /engine/);
  });

  it('validates SEISMIC parameters against the documented ranges', () => {
    validateSeismicParameters({ n_postings: 1, cluster_ratio: 0.5, summary_prune_ratio: 1, approximate_threshold: 0, quantization_ceiling_search: 16, quantization_ceiling_ingest: 3 });
    assert.throws(() => validateSeismicParameters({ n_postings: 0 }), /n_postings/);
    assert.throws(() => validateSeismicParameters({ n_postings: 2.5 }), /n_postings/);
    assert.throws(() => validateSeismicParameters({ cluster_ratio: 1 }), /cluster_ratio/);
    assert.throws(() => validateSeismicParameters({ summary_prune_ratio: 0 }), /summary_prune_ratio/);
    assert.throws(() => validateSeismicParameters({ approximate_threshold: -1 }), /approximate_threshold/);
    assert.throws(() => validateSeismicParameters({ quantization_ceiling_ingest: 0 }), /quantization_ceiling_ingest/);
    assert.throws(() => validateSeismicParameters({ nope: 1 } as never), /unknown/);
  });

  it('refuses field names that would become object paths', () => {
    assert.throws(() => rankFeaturesIndexBody('a.b'), RangeError);
    assert.throws(() => sparseVectorIndexBody(''), RangeError);
  });
});

describe('opensearch: query bodies', () => {
  const idf = new Map([['hello', 3.5], ['world', 1.25], ['the', -0.5], ['.', 2]]);

  it('weights distinct tokens by relu(idf), 1.0 when absent, escaping dots', () => {
    const stats = { zeroWeight: 0, badKey: 0 };
    const terms = queryTermsFromTokens(['hello', 'world', 'hello', 'the', 'unseen', '.'], idf, 'escape', stats);
    assert.deepStrictEqual(terms, [
      { key: 'hello', weight: 3.5 }, { key: 'world', weight: 1.25 }, { key: 'unseen', weight: 1 }, { key: '%2E', weight: 2 },
    ]);
    assert.deepStrictEqual(stats, { zeroWeight: 1, badKey: 0 });
    assert.deepStrictEqual(queryTermsFromTokens(['.'], idf, 'drop', stats), []);
    assert.strictEqual(stats.badKey, 1);
  });

  it('rank_feature clauses: linear function, boost = weight, inside bool.should (rank_feature query page)', () => {
    const body = rankFeatureSearchBody('emb', [{ key: 'hello', weight: 3.5 }, { key: '%2E', weight: 2 }], { size: 10 });
    const expected: API.Search_RequestBody = {
      size: 10,
      _source: false,
      query: {
        bool: {
          should: [
            { rank_feature: { field: 'emb.hello', boost: 3.5, linear: {} } },
            { rank_feature: { field: 'emb.%2E', boost: 2, linear: {} } },
          ],
        },
      },
    };
    assert.deepStrictEqual(plain(body), expected);
    assert.throws(() => rankFeatureSearchBody('emb', [{ key: 'a.b', weight: 1 }], { size: 1 }), /cannot be addressed/);
  });

  it('neural_sparse with raw query_tokens on rank_features (neural_sparse query page)', () => {
    const body = neuralSparseSearchBody('passage_embedding', [{ key: 'hi', weight: 4.338913 }, { key: 'planet', weight: 5.0969057 }], { size: 5 });
    const expected: API.Search_RequestBody = {
      size: 5, _source: false,
      query: { neural_sparse: { passage_embedding: { query_tokens: { hi: 4.338913, planet: 5.0969057 } } } },
    };
    assert.deepStrictEqual(plain(body), expected);
  });

  it('neural_sparse on sparse_vector: token ids as keys plus method_parameters (Sparse vector page)', () => {
    const ids = new Map([['hello', 1055], ['world', 2088]]);
    const stats = { zeroWeight: 0, badKey: 0 };
    const terms = queryTermsForIds(['hello', 'nope'], new Map([['hello', 5.5]]), ids, stats);
    assert.strictEqual(stats.badKey, 1);
    const body = neuralSparseSearchBody('sparse_embedding', terms, { size: 10 }, { heap_factor: 1.0, top_n: 10, k: 10 });
    assert.deepStrictEqual(plain(body), {
      size: 10, _source: false,
      query: { neural_sparse: { sparse_embedding: { query_tokens: { 1055: 5.5 }, method_parameters: { heap_factor: 1.0, top_n: 10, k: 10 } } } },
    });
  });

  it('leaves dotted tokens out of rank_feature queries under the keep policy (counted), keeps them for neural_sparse', () => {
    const o = { mode: 'rank_feature', fieldType: 'rank_features', idf, keyPolicy: 'keep' } as unknown as SearchOptions;
    const stats = { zeroWeight: 0, badKey: 0 };
    assert.deepStrictEqual(termsOf({ id: 'q', tokens: ['hello', '.'] }, o, stats), [{ key: 'hello', weight: 3.5 }]);
    assert.strictEqual(stats.badKey, 1);
    assert.deepStrictEqual(termsOf({ id: 'q', tokens: ['hello', '.'] }, { ...o, mode: 'neural_sparse' }, stats).map((t) => t.key), ['hello', '.']);
  });

  it('keeps a token spelled "__proto__" as an ordinary key', () => {
    const body = neuralSparseSearchBody('f', [{ key: '__proto__', weight: 1 }], { size: 1 });
    assert.strictEqual(JSON.stringify(body), '{"size":1,"_source":false,"query":{"neural_sparse":{"f":{"query_tokens":{"__proto__":1}}}}}');
  });
});
