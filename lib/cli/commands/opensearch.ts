import type { Command } from 'commander';

import { AtomicLineWriter } from '../../io';
import { newJsonlReadStats } from '../../sparse/jsonl-vectors';
import { countDocs, openDocVectors } from '../../sparse/vector-files';
import { readVocabFile, tokenToId as vocabTokenIds } from '../../sparse/vocab';
import { KEY_POLICIES, type KeyPolicy } from '../../export/token-keys';
import { describeDrops } from '../../export/weights';
import { ClusterUnavailableError } from '../../opensearch/bulk';
import { Checkpoint } from '../../opensearch/checkpoint';
import {
  clientBulkTransport, clientRootTransport, clientSearchTransport, createClient, createIndex, describeConnectionError, refreshIndex,
} from '../../opensearch/client';
import { ingestBatches } from '../../opensearch/ingest';
import { methodEngineToSend, rankFeaturesIndexBody, type SeismicParameters, sparseVectorIndexBody } from '../../opensearch/mappings';
import { type Feature, requireClusterFeatures, type Version } from '../../opensearch/versions';
import { startProgress } from '../../io/progress';
import { readQueriesJsonl, searchToTrec, type TextQueryEncoder, weightsFromCsr } from '../../opensearch/search';
import { IdfTable } from '../../idf/idf-table';
import { QueryEncoder } from '../../query/query-encoder';
import { TextTokenizer } from '../../tokenizer/text-tokenizer';
import { addPruneOptions, pruneFromOptions } from '../prune-option';

type FieldType = 'rank_features' | 'sparse_vector';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
};
const oneOf = <T extends string>(name: string, allowed: readonly T[]) => (v: string) => {
  if (!allowed.includes(v as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
};

/** Connection options shared by the subcommands; credentials come from the environment, not argv. */
function connection(cmd: Command): Command {
  return cmd
    .requiredOption('--url <url>', 'cluster URL (e.g. https://localhost:9200)', process.env.OPENSEARCH_URL)
    .option('--insecure', 'accept self-signed TLS certificates')
    .addHelpText('after', '\nCredentials: set OPENSEARCH_USER and OPENSEARCH_PASSWORD.');
}

function clientFrom(opts: { url: string; insecure?: boolean }) {
  return createClient({ url: opts.url, username: process.env.OPENSEARCH_USER, password: process.env.OPENSEARCH_PASSWORD, insecure: opts.insecure });
}

const warn = (msg: string) => { process.stderr.write(`l0sparse: warning: ${msg}\n`); };

const isConnectionError = (e: unknown) => (e as Error).name === 'ConnectionError' || (e as Error).name === 'TimeoutError';

/** `l0sparse opensearch create-index|ingest|search`. */
export function register(program: Command): void {
  const os = program.command('opensearch').description('serve encoded documents from OpenSearch (see docs/OPENSEARCH.md)');

  connection(os.command('create-index'))
    .description('create an index with a rank_features (token strings) or sparse_vector (token ids, SEISMIC, OpenSearch >= 3.3) field')
    .requiredOption('--index <name>', 'index name')
    .option('--field <name>', 'vector field', 'embedding')
    .option('--type <type>', 'rank_features | sparse_vector', oneOf('type', ['rank_features', 'sparse_vector'] as const), 'rank_features')
    .option('--shards <n>', 'number_of_shards', num('shards'))
    .option('--replicas <n>', 'number_of_replicas', num('replicas'))
    .option('--n-postings <n>', 'SEISMIC n_postings', num('n-postings'))
    .option('--cluster-ratio <r>', 'SEISMIC cluster_ratio', num('cluster-ratio'))
    .option('--summary-prune-ratio <r>', 'SEISMIC summary_prune_ratio', num('summary-prune-ratio'))
    .option('--approximate-threshold <n>', 'SEISMIC approximate_threshold', num('approximate-threshold'))
    .option('--quantization-ceiling-search <x>', 'SEISMIC quantization_ceiling_search', num('quantization-ceiling-search'))
    .option('--quantization-ceiling-ingest <x>', 'SEISMIC quantization_ceiling_ingest', num('quantization-ceiling-ingest'))
    .option('--engine <e>', 'sparse_vector method.engine: native needs OpenSearch >= 3.9; lucene, the default engine, is never sent (older releases reject the key)', oneOf('engine', ['lucene', 'native'] as const))
    .option('--if-exists <what>', 'error | skip | recreate (deletes the index first)', oneOf('if-exists', ['error', 'skip', 'recreate'] as const), 'error')
    .option('--print-body', 'print the request body and exit without contacting the cluster')
    .action(async (o) => {
      const seismic: SeismicParameters = {
        n_postings: o.nPostings, cluster_ratio: o.clusterRatio, summary_prune_ratio: o.summaryPruneRatio,
        approximate_threshold: o.approximateThreshold, quantization_ceiling_search: o.quantizationCeilingSearch,
        quantization_ceiling_ingest: o.quantizationCeilingIngest,
      };
      const given = Object.values(seismic).some((v) => v !== undefined);
      if ((given || o.engine) && o.type !== 'sparse_vector') throw new Error('SEISMIC parameters apply to --type sparse_vector only');
      const settings = { shards: o.shards, replicas: o.replicas };
      const bodyFor = (engine: 'native' | undefined) => (o.type === 'sparse_vector' ? sparseVectorIndexBody(o.field, seismic, settings, engine) : rankFeaturesIndexBody(o.field, settings));
      if (o.printBody) {
        const engine = methodEngineToSend(o.engine, null) as 'native' | undefined;
        if (engine) warn('method.engine is accepted from OpenSearch 3.9 on');
        process.stdout.write(JSON.stringify(bodyFor(engine), null, 2) + '\n');
        return;
      }
      const client = clientFrom(o);
      try {
        // sparse_vector (and method.engine) exist from a given release on: check before creating anything.
        let version: Version | null = null;
        if (o.type === 'sparse_vector') {
          const features: Feature[] = o.engine === 'native' ? ['sparse_vector', 'method_engine'] : ['sparse_vector'];
          const cluster = await requireClusterFeatures(clientRootTransport(client), features, warn);
          version = 'version' in cluster ? cluster.version : null;
        }
        const body = bodyFor(methodEngineToSend(o.engine, version) as 'native' | undefined);
        const res = await createIndex(client, o.index, body, o.ifExists);
        process.stdout.write(res.created ? `created index '${o.index}' (${o.type} field '${o.field}')\n` : `index '${o.index}' exists; left as is\n`);
      } catch (e) {
        if (isConnectionError(e)) throw new Error(describeConnectionError(o.url, e));
        throw e;
      }
    });

  addPruneOptions(connection(os.command('ingest')))
    .description('bulk-index doc vectors (JSONL {"id", "vector": {key: weight}}), resumable')
    .requiredOption('--index <name>', 'index name (create it first)')
    .requiredOption('--input <file>', 'binary CSR file from the encoder, or doc-vector JSONL')
    .option('--vocab <file>', 'vocab.txt or tokenizer.json (id <-> token); not needed for a CSR file into sparse_vector')
    .option('--keys <kind>', 'keys of "vector" in the input: token | id', oneOf('keys', ['token', 'id'] as const), 'token')
    .option('--field <name>', 'vector field', 'embedding')
    .option('--type <type>', 'rank_features | sparse_vector', oneOf('type', ['rank_features', 'sparse_vector'] as const), 'rank_features')
    .option('--key-policy <p>', `tokens a rank_features key cannot hold: ${KEY_POLICIES.join(' | ')}`, oneOf('key-policy', KEY_POLICIES), 'escape')
    .option('--batch-size <n>', 'documents per bulk request', num('batch-size'), 500)
    .option('--concurrency <n>', 'bulk requests in flight', num('concurrency'), 2)
    .option('--max-retries <n>', 'retries per request (429/5xx/connection errors)', num('max-retries'), 5)
    .option('--checkpoint <file>', 'checkpoint file (default <input>.<index>.checkpoint.json)')
    .option('--failures <file>', 'per-document failures JSONL (default <input>.<index>.failures.jsonl)')
    .option('--refresh', 'refresh the index at the end, so that a search started right away sees every document')
    .option('--no-progress', 'no progress bar')
    .action(async (o) => {
      const prune = pruneFromOptions(o) ?? undefined;
      const vocab = o.vocab ? readVocabFile(o.vocab) : undefined;
      if (!vocab && o.type === 'rank_features') throw new Error('rank_features keys are token strings: --vocab is needed');
      const checkpointFile = o.checkpoint ?? `${o.input}.${o.index}.checkpoint.json`;
      const failuresFile = o.failures ?? `${o.input}.${o.index}.failures.jsonl`;
      const checkpoint = Checkpoint.open(checkpointFile, { input: o.input, index: o.index, field: o.field, batchSize: o.batchSize });
      const total = o.progress && process.stderr.isTTY ? await countDocs(o.input) : undefined;
      const bar = startProgress('ingest', total, o.progress && process.stderr.isTTY === true, { unit: 'docs' });
      const stats = newJsonlReadStats();
      const client = clientFrom(o);
      try {
        const rep = await ingestBatches(openDocVectors(o.input, { keys: o.keys, vocab, batchSize: 256 }, stats), {
          transport: clientBulkTransport(client, o.index), field: o.field, fieldType: o.type as FieldType, vocab,
          keyPolicy: o.keyPolicy as KeyPolicy, prune,
          batchSize: o.batchSize, concurrency: o.concurrency, checkpoint, failuresFile,
          retry: { maxRetries: o.maxRetries, baseDelayMs: 500, maxDelayMs: 30_000 },
          retryHooks: { onRetry: (r) => { if (!process.stderr.isTTY) process.stderr.write(`retry ${r.attempt} in ${r.delayMs} ms: ${r.reason}\n`); } },
          onProgress: (n) => bar.update(n),
        });
        bar.stop();
        process.stdout.write(`indexed ${rep.docsIndexed}, failed ${rep.docsFailed}, skipped ${rep.docsSkipped} (already done) of ${rep.docsSeen} documents in ${rep.batchesSent} requests\n`);
        process.stdout.write(describeDrops(rep.drops) + '\n');
        if (stats.unknownKeys) process.stdout.write(`input keys not in the vocabulary: ${stats.unknownKeys} (e.g. ${stats.unknownExamples.map((k) => JSON.stringify(k)).join(', ')})\n`);
        if (rep.docsFailed) {
          process.stdout.write(`failures are listed in ${failuresFile}; first: ${rep.failureSample.slice(0, 3).map((f) => `${f.id}: ${f.status} ${f.type} ${f.reason}`).join(' | ')}\n`);
          process.exitCode = 2;
        }
        if (o.refresh) {
          const r = await refreshIndex(client, o.index);
          process.stdout.write(`refreshed index '${o.index}' (${r.total} shard copies${r.failed ? `, ${r.failed} failed: their documents appear at the next periodic refresh` : ''})\n`);
        }
      } catch (e) {
        bar.stop();
        if (e instanceof ClusterUnavailableError) throw new Error(`OpenSearch at ${o.url}: ${(e as Error).message}`);
        if (isConnectionError(e)) throw new Error(describeConnectionError(o.url, e));
        throw e;
      }
    });

  connection(os.command('search'))
    .description('run inference-free queries and write a TREC run (qid Q0 docid rank score tag)')
    .requiredOption('--index <name>', 'index name')
    .requiredOption('--queries <file>', 'JSONL {"id", "tokens": [...]} (tokenised without special tokens), {"id", "vector": {token: weight}} or {"_id", "text"} (with --tokenizer)')
    .requiredOption('--out <file>', 'TREC run file')
    .option('--idf <file>', 'idf.json (token -> weight; absent tokens weigh 1.0)')
    .option('--vocab <file>', 'vocab.txt or tokenizer.json (needed for sparse_vector)')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt, to encode text queries ({"_id", "text"}) with --idf')
    .option('--field <name>', 'vector field', 'embedding')
    .option('--type <type>', 'rank_features | sparse_vector', oneOf('type', ['rank_features', 'sparse_vector'] as const), 'rank_features')
    .option('--mode <mode>', 'rank_feature | neural_sparse', oneOf('mode', ['rank_feature', 'neural_sparse'] as const), 'rank_feature')
    .option('--key-policy <p>', 'must match the one used at ingest', oneOf('key-policy', KEY_POLICIES), 'escape')
    .option('--k <n>', 'hits per query', num('k'), 1000)
    .option('--tag <tag>', 'run tag', 'l0sparse-opensearch')
    .option('--concurrency <n>', 'searches in flight', num('concurrency'), 4)
    .option('--top-n <n>', 'sparse_vector: SEISMIC method_parameters.top_n, query tokens used, heaviest first (default: all; fewer is faster, loses recall)', num('top-n'))
    .option('--heap-factor <x>', 'sparse_vector: SEISMIC method_parameters.heap_factor (default 1.0; higher visits more clusters: recall up, latency up)', num('heap-factor'))
    .option('--ann-k <n>', 'sparse_vector: SEISMIC method_parameters.k, hits per segment (default: --k; below --k a run has fewer lines)', num('ann-k'))
    .option('--no-progress', 'no progress bar')
    .action(async (o) => {
      // lib/idf validates the table (finite numbers, an object of token -> weight).
      const idf = o.idf ? IdfTable.load(o.idf).toJSON() : {};
      let tokenToId: Map<string, number> | undefined;
      if (o.vocab) tokenToId = vocabTokenIds(readVocabFile(o.vocab));
      let encodeText: TextQueryEncoder | undefined;
      if (o.tokenizer) {
        // Text queries: tokenised without special tokens and weighted by relu(idf) by lib/query's encoder.
        const tokenizer = TextTokenizer.fromFile(o.tokenizer);
        const table = o.idf ? IdfTable.load(o.idf, tokenizer) : IdfTable.fromEntries([]);
        const encoder = QueryEncoder.fromIdf(tokenizer, table);
        encodeText = async (texts) => weightsFromCsr(await encoder.encode(texts), (id) => tokenizer.idToToken(id) as string);
        if (!tokenToId && o.type === 'sparse_vector') {
          tokenToId = new Map();
          for (let id = 0; id < tokenizer.vocabSize; id++) { const t = tokenizer.idToToken(id); if (t !== undefined && !tokenToId.has(t)) tokenToId.set(t, id); }
        }
      }
      const methodParameters = Object.fromEntries(Object.entries({ top_n: o.topN, heap_factor: o.heapFactor, k: o.annK }).filter(([, v]) => v !== undefined));
      if (o.mode === 'rank_feature' && o.type !== 'rank_features') throw new Error('--mode rank_feature needs --type rank_features; use --mode neural_sparse on a sparse_vector field');
      if (Object.keys(methodParameters).length && o.type !== 'sparse_vector') throw new Error('--top-n, --heap-factor and --ann-k apply to --type sparse_vector only');
      if (o.annK !== undefined && o.annK < o.k) warn(`--ann-k ${o.annK} is below --k ${o.k}: each SEISMIC segment returns at most ${o.annK} hits`);
      const client = clientFrom(o);
      // neural_sparse query_tokens and sparse_vector came in given releases: say so before the first query.
      const features: Feature[] = [...(o.mode === 'neural_sparse' ? ['query_tokens' as const] : []), ...(o.type === 'sparse_vector' ? ['sparse_vector' as const] : [])];
      if (features.length) await requireClusterFeatures(clientRootTransport(client), features, warn);
      const writer = new AtomicLineWriter(o.out);
      const bar = startProgress('search', undefined, o.progress && process.stderr.isTTY === true, { unit: 'queries' });
      try {
        const rep = await searchToTrec(readQueriesJsonl(o.queries), {
          transport: clientSearchTransport(client), index: o.index, field: o.field, mode: o.mode, fieldType: o.type as FieldType,
          idf, keyPolicy: o.keyPolicy, tokenToId, methodParameters, encodeText, k: o.k, tag: o.tag, concurrency: o.concurrency,
          onProgress: (n) => bar.update(n),
        }, (l) => writer.writeLine(l));
        await writer.commit();
        bar.stop();
        process.stdout.write(`${rep.queries} queries, ${rep.lines} run lines -> ${o.out}; ${rep.emptyQueries} queries had no usable token; ` +
          `${rep.termStats.zeroWeight} tokens with weight <= 0 and ${rep.termStats.badKey} unrepresentable tokens left out\n`);
        if (rep.scaledQueries) process.stdout.write(`${rep.scaledQueries} queries had a weight above 64 and were sent divided by (largest weight / 64), scores multiplied back\n`);
        if (rep.failures.length) {
          process.stdout.write(`${rep.failures.length} queries failed, first: ${rep.failures.slice(0, 3).map((f) => `${f.qid}: HTTP ${f.status} ${f.reason}`).join(' | ')}\n`);
          process.exitCode = 2;
        }
      } catch (e) {
        bar.stop();
        await writer.abort();
        if (e instanceof ClusterUnavailableError) throw new Error(`OpenSearch at ${o.url}: ${(e as Error).message}`);
        throw e;
      }
    });
}
