import type { Command } from 'commander';

import { exportOpenSearchModel } from '../../export/opensearch-model';
import { newJsonlReadStats } from '../../sparse/jsonl-vectors';
import { countDocs, openDocVectors } from '../../sparse/vector-files';
import { readVocabFile } from '../../sparse/vocab';
import { KEY_POLICIES, type KeyPolicy } from '../../export/token-keys';
import { EXPORT_FORMATS, type ExportFormat, exportVectors } from '../../export/vector-files';
import { describeDrops } from '../../export/weights';
import { startProgress } from '../../io/progress';
import { addPruneOptions, pruneFromOptions } from '../prune-option';

const FORMATS = [...EXPORT_FORMATS, 'opensearch-model'] as const;

/** `l0sparse export --format opensearch-bulk|anserini|seismic|opensearch-model`. */
export function register(program: Command): void {
  addPruneOptions(program.command('export'))
    .description('write doc vectors for other engines, or a model directory for OpenSearch ML Commons (see docs/OPENSEARCH.md)')
    .requiredOption('--format <f>', FORMATS.join(' | '))
    .requiredOption('--out <path>', 'output file (vectors) or directory (opensearch-model)')
    .option('--input <file>', 'binary CSR file from the encoder, or doc-vector JSONL {"id", "vector": {key: weight}}')
    .option('--vocab <file>', 'vocab.txt or tokenizer.json')
    .option('--keys <kind>', 'keys of "vector" in the input: token | id', 'token')
    .option('--field <name>', 'opensearch-bulk: vector field', 'embedding')
    .option('--field-type <t>', 'opensearch-bulk: rank_features | sparse_vector', 'rank_features')
    .option('--index <name>', 'opensearch-bulk: write "_index" into each action')
    .option('--key-policy <p>', KEY_POLICIES.join(' | ') + ' (default: escape for opensearch-bulk, keep otherwise)')
    .option('--scale <x>', 'anserini: integer impact = round(weight * scale)', '100')
    .option('--model <dir>', 'opensearch-model: saved model directory')
    .option('--name <name>', 'opensearch-model: model name in the register bodies')
    .option('--model-version <v>', 'opensearch-model: model version', '1.0.0')
    .option('--base-url <url>', 'opensearch-model: where the zips will be hosted')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
    .action(async (o) => {
      if (!FORMATS.includes(o.format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}, got '${o.format}'`);
      if (o.format === 'opensearch-model') {
        if (!o.model) throw new Error('--format opensearch-model needs --model <dir>');
        const rep = exportOpenSearchModel(o.model, o.out, { name: o.name, version: o.modelVersion, baseUrl: o.baseUrl });
        process.stdout.write(`wrote ${o.out}/hf (${rep.hfFiles.join(', ')})\n`);
        for (const [what, r] of [['tokenizer (SPARSE_TOKENIZE)', rep.tokenizer], ['encoder (SPARSE_ENCODING)', rep.encoder]] as const)
          process.stdout.write('skipped' in r ? `${what}: skipped, ${r.skipped}\n` : `${what}: ${r.zip} (${r.bytes} bytes, sha256 ${r.sha256}), register body ${r.register}\n`);
        // Without these, _register?deploy=true fails on a cluster without dedicated ML nodes (docs/OPENSEARCH.md §5).
        process.stdout.write(`before registering, apply these cluster settings (PUT _cluster/settings, body in ${rep.clusterSettings.file}; ` +
          `keep only_run_on_ml_node true if the cluster has dedicated ML nodes):\n${JSON.stringify(rep.clusterSettings.body)}\n`);
        return;
      }
      if (!o.input) throw new Error(`--format ${o.format} needs --input`);
      const tokenKeys = !(o.format === 'opensearch-bulk' && o.fieldType === 'sparse_vector');
      if (!o.vocab && tokenKeys) throw new Error(`--format ${o.format} writes token strings: --vocab is needed`);
      if (!['token', 'id'].includes(o.keys)) throw new Error(`--keys must be token or id, got '${o.keys}'`);
      if (!['rank_features', 'sparse_vector'].includes(o.fieldType)) throw new Error(`--field-type must be rank_features or sparse_vector, got '${o.fieldType}'`);
      if (o.keyPolicy !== undefined && !KEY_POLICIES.includes(o.keyPolicy)) throw new Error(`--key-policy must be one of ${KEY_POLICIES.join(', ')}`);
      // Dots only hurt OpenSearch's rank_feature query; Anserini and Seismic take any token string.
      const keyPolicy = (o.keyPolicy ?? (o.format === 'opensearch-bulk' ? 'escape' : 'keep')) as KeyPolicy;
      const prune = pruneFromOptions(o) ?? undefined;
      const vocab = o.vocab ? readVocabFile(o.vocab) : undefined;
      const stats = newJsonlReadStats();
      const showBar = o.progress && process.stderr.isTTY === true;
      const bar = startProgress('export', showBar ? await countDocs(o.input) : undefined, showBar, { unit: 'docs' });
      try {
        const rep = await exportVectors(openDocVectors(o.input, { keys: o.keys, vocab, batchSize: 1024 }, stats), {
          format: o.format as ExportFormat, out: o.out, vocab, fieldType: o.fieldType, field: o.field, index: o.index, keyPolicy,
          prune, anseriniScale: Number(o.scale),
          onProgress: (n) => bar.update(n),
        });
        bar.stop();
        process.stdout.write(`${rep.docs} documents, ${rep.entries} entries -> ${rep.out}${rep.idsOut ? ` (ids: ${rep.idsOut})` : ''}\n${describeDrops(rep.drops)}\n`);
        if (stats.unknownKeys) process.stdout.write(`input keys not in the vocabulary: ${stats.unknownKeys} (e.g. ${stats.unknownExamples.map((k) => JSON.stringify(k)).join(', ')})\n`);
      } catch (e) {
        bar.stop();
        throw e;
      }
    });
}
