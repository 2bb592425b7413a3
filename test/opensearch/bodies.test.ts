/**
 * Request bodies against the formats the OpenSearch documentation shows (expected JSON written by hand
 * from those pages; see docs/OPENSEARCH.md "References"). Where the OpenSearch API specification types
 * shipped with the official client cover a body, the expected literal is also typed with them, so tsc
 * checks it independently (an unknown key such as `linearr` fails to compile). The spec types in client
 * 3.9 know neither the sparse_vector field nor neural_sparse's method_parameters; those rely on the docs.
 */
import * as assert from 'assert';

import type { API } from '@opensearch-project/opensearch';

import { checkSparseVectorVocabulary, linearQueryWeightProblem } from '../../lib/opensearch/limits';
import { methodEngineToSend, rankFeaturesIndexBody, sparseVectorIndexBody, validateSeismicParameters } from '../../lib/opensearch/mappings';
import {
  fitLinearQueryWeights, neuralSparseSearchBody, queryTermsForIds, queryTermsFromTokens, rankFeatureSearchBody, validateSeismicMethodParameters,
} from '../../lib/opensearch/queries';
import { searchBody, type SearchOptions, termsOf } from '../../lib/opensearch/search';
import { parseVersion, unsupportedFeatures, type Version } from '../../lib/opensearch/versions';

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

  it('method.engine: lucene is never sent, native only to OpenSearch >= 3.9 (or when the version is unknown)', () => {
    const v = (t: string) => parseVersion(t) as Version;
    for (const version of [v('3.3.0'), v('3.9.0'), null]) assert.strictEqual(methodEngineToSend('lucene', version), undefined);
    assert.strictEqual(methodEngineToSend(undefined, v('3.9.0')), undefined);
    assert.strictEqual(methodEngineToSend('native', v('3.9.0')), 'native');
    assert.strictEqual(methodEngineToSend('native', v('4.0.0')), 'native');
    assert.strictEqual(methodEngineToSend('native', null), 'native');
    assert.throws(() => methodEngineToSend('native', v('3.8.2')), /method\.engine needs OpenSearch 3\.9 or later, and the cluster is 3\.8\.2/);
    // What goes out for lucene on any cluster: the 3.3 page's method object, no engine key.
    assert.deepStrictEqual(plain(sparseVectorIndexBody('s', {}, {}, methodEngineToSend('lucene', v('3.9.0')))).mappings.properties.s,
      { type: 'sparse_vector', method: { name: 'seismic' } });
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

  it('neural_sparse weights must lie in (0, 64] as the float32 the server parses: 64 passes, 64.0001 and 0 are refused', () => {
    const body = (w: number) => neuralSparseSearchBody('f', [{ key: 'a', weight: w }], { size: 1 });
    assert.deepStrictEqual(plain(body(64)).query.neural_sparse.f.query_tokens, { a: 64 });
    // 64.000001 is 64 as a float32 (its spacing there is 2^-17), so Lucene sees 64 and accepts it.
    assert.strictEqual(Math.fround(64.000001), 64);
    assert.deepStrictEqual(plain(body(64.000001)).query.neural_sparse.f.query_tokens, { a: 64.000001 });
    assert.throws(() => body(64.0001), /token 'a' is 64\.0001, which is above 64/);
    assert.throws(() => body(0), /not above 0/);
    assert.throws(() => body(1e-50), /not above 0 as a float32/); // a positive double that is 0 as a float32
    assert.strictEqual(linearQueryWeightProblem(Number.MIN_VALUE), 'is not above 0 as a float32');
    assert.strictEqual(linearQueryWeightProblem(1.401298464324817e-45), null); // smallest positive float32
  });

  it('scales a query whose largest weight is above 64 so the heaviest is 64; scores scale back to the dot product', () => {
    // At most 64: untouched.
    assert.deepStrictEqual(fitLinearQueryWeights([{ key: 'a', weight: 64 }, { key: 'b', weight: 3 }]),
      { terms: [{ key: 'a', weight: 64 }, { key: 'b', weight: 3 }], scoreScale: 1 });
    // Just above: divided by 64.0001 / 64 = 1.0000015625.
    const near = fitLinearQueryWeights([{ key: 'a', weight: 64.0001 }, { key: 'b', weight: 32.00005 }]);
    assert.strictEqual(near.scoreScale, 64.0001 / 64);
    assert.deepStrictEqual(near.terms.map((t) => t.key), ['a', 'b']);
    assert.strictEqual(near.terms[0].weight, 64);
    assert.ok(Math.abs(near.terms[1].weight - 32) < 1e-12);
    // 128 / 32 / 1 -> 64 / 16 / 0.5 with scale 2. A document {a: 1, b: 2} scores 128 + 64 = 192 against
    // the query, 64 + 32 = 96 against the scaled one, and 96 * 2 = 192.
    const big = fitLinearQueryWeights([{ key: 'b', weight: 32 }, { key: 'a', weight: 128 }, { key: 'c', weight: 1 }]);
    assert.deepStrictEqual(big, { terms: [{ key: 'b', weight: 16 }, { key: 'a', weight: 64 }, { key: 'c', weight: 0.5 }], scoreScale: 2 });
    assert.strictEqual((big.terms[1].weight * 1 + big.terms[0].weight * 2) * big.scoreScale, 192);
    // A weight that becomes 0 as a float32 once scaled is left out, counted.
    const stats = { zeroWeight: 0, badKey: 0 };
    assert.deepStrictEqual(fitLinearQueryWeights([{ key: 'a', weight: 1e40 }, { key: 'b', weight: 1e-10 }], stats).terms, [{ key: 'a', weight: 64 }]);
    assert.strictEqual(stats.zeroWeight, 1);
  });

  it('SEISMIC method_parameters default to k = requested hits, top_n = every query token, heap_factor 1.0', () => {
    const o = { mode: 'neural_sparse', fieldType: 'sparse_vector', field: 'sv', k: 1000 } as unknown as SearchOptions;
    const terms = [{ key: '1055', weight: 5.5 }, { key: '2088', weight: 1 }, { key: '7', weight: 0.5 }];
    assert.deepStrictEqual(plain(searchBody(terms, o)), {
      size: 1000, _source: false,
      query: { neural_sparse: { sv: { query_tokens: { 1055: 5.5, 2088: 1, 7: 0.5 }, method_parameters: { top_n: 3, heap_factor: 1, k: 1000 } } } },
    });
    // Given values win, the others still default.
    assert.deepStrictEqual(plain(searchBody(terms, { ...o, methodParameters: { top_n: 2, heap_factor: 1.5 } })).query.neural_sparse.sv.method_parameters,
      { top_n: 2, heap_factor: 1.5, k: 1000 });
    // rank_features fields get no method_parameters.
    assert.deepStrictEqual(Object.keys(plain(searchBody(terms, { ...o, fieldType: 'rank_features' })).query.neural_sparse.sv), ['query_tokens']);
  });

  it('validates SEISMIC method_parameters as neural-search does (top_n, k integers > 0; heap_factor > 0)', () => {
    validateSeismicMethodParameters({ top_n: 1, k: 1, heap_factor: 0.001 });
    assert.throws(() => validateSeismicMethodParameters({ top_n: 0 }), /top_n must be an integer > 0, got 0/);
    assert.throws(() => validateSeismicMethodParameters({ top_n: 2.5 }), /top_n/);
    assert.throws(() => validateSeismicMethodParameters({ k: 0 }), /k must be an integer > 0/);
    assert.throws(() => validateSeismicMethodParameters({ heap_factor: 0 }), /heap_factor/);
    assert.throws(() => validateSeismicMethodParameters({ heap_factor: Number.NaN }), /heap_factor/);
    assert.throws(() => validateSeismicMethodParameters({ filter: 1 } as never), /unknown SEISMIC method parameter 'filter'/);
  });

  it('keeps a token spelled "__proto__" as an ordinary key', () => {
    const body = neuralSparseSearchBody('f', [{ key: '__proto__', weight: 1 }], { size: 1 });
    assert.strictEqual(JSON.stringify(body), '{"size":1,"_source":false,"query":{"neural_sparse":{"f":{"query_tokens":{"__proto__":1}}}}}');
  });
});

describe('opensearch: documented limits and versions', () => {
  it('a sparse_vector vocabulary may hold 32,768 ids (0..32767), not 32,769', () => {
    checkSparseVectorVocabulary(32768, 'v');
    assert.throws(() => checkSparseVectorVocabulary(32769, 'the vocabulary'), /the vocabulary has 32769 token ids.*below 32768.*rank_features/);
  });

  it('parses cluster versions and names the first release of each feature (2.14, 3.3, 3.9)', () => {
    assert.deepStrictEqual(parseVersion('3.3.0-SNAPSHOT'), { major: 3, minor: 3, patch: 0, text: '3.3.0-SNAPSHOT' });
    assert.deepStrictEqual(parseVersion('2.14'), { major: 2, minor: 14, patch: 0, text: '2.14' });
    assert.strictEqual(parseVersion('v3'), null);
    const at = (t: string, f: Parameters<typeof unsupportedFeatures>[0]) => unsupportedFeatures(f, parseVersion(t) as Version);
    assert.strictEqual(at('2.13.0', ['query_tokens']), 'neural_sparse with raw query_tokens needs OpenSearch 2.14 or later, and the cluster is 2.13.0');
    assert.strictEqual(at('2.14.0', ['query_tokens']), null);
    assert.strictEqual(at('3.0.0', ['query_tokens']), null);
    assert.match(at('3.2.1', ['query_tokens', 'sparse_vector']) ?? '', /^sparse_vector fields .* needs OpenSearch 3\.3 or later, and the cluster is 3\.2\.1$/);
    assert.strictEqual(at('3.3.0', ['query_tokens', 'sparse_vector']), null);
    assert.match(at('2.19.0', ['sparse_vector']) ?? '', /3\.3 or later/);
    assert.match(at('3.8.0', ['method_engine']) ?? '', /3\.9 or later/);
    assert.strictEqual(at('3.9.0', ['method_engine']), null);
    assert.strictEqual(at('10.0.0', ['query_tokens', 'sparse_vector', 'method_engine']), null);
  });
});
