/**
 * Writes a SparseEncoder in the two layouts it can be loaded from:
 *   hf:                    the transformers model files at the root, idf.json (the effective query weight
 *                          of every token) and l0sparse_config.json (activation, k, max length).
 *   sentence-transformers: exactly what sentence-transformers 6.0.1 writes for
 *                          Router.for_query_document([SparseStaticEmbedding], [Transformer(fill-mask),
 *                          SpladePooling(max)]): modules.json, router_config.json,
 *                          config_sentence_transformers.json and one folder per module.
 * Every file is written atomically; existing files of the same name are replaced.
 */
import * as fs from 'fs';
import * as path from 'path';

import { IdfTable } from '../idf/idf-table';
import type { ActivationName } from '../ops/sparse-head';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { writeFileAtomic } from '../io';
import { SPARSE_CONFIG_FILE } from './model-dir';
import type { NativeMlmModel } from './native-model';
import { writeStaticWeights } from './static-weights';
import { writeTokenizerFiles } from './tokenizer-files';

export interface SaveParts {
  model: NativeMlmModel;
  tokenizer: TextTokenizer;
  tokenizerConfig?: Record<string, unknown>;
  maxLength: number;
  activation: ActivationName;
  k: number;
  query?: { tokenizer: TextTokenizer; weights: Float32Array; tokenizerConfig?: Record<string, unknown> };
}

function writeJson(file: string, value: unknown, indent: number): void {
  writeFileAtomic(file, JSON.stringify(value, null, indent) + '\n');
}

export async function saveHfLayout(dir: string, parts: SaveParts): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await parts.model.save(dir);
  writeTokenizerFiles(dir, parts.tokenizer, { maxLength: parts.maxLength, baseConfig: parts.tokenizerConfig });
  writeJson(path.join(dir, SPARSE_CONFIG_FILE), {
    activation: parts.activation, k: parts.activation === 'l0' ? parts.k : 0, pooling: 'max', maxLength: parts.maxLength,
  }, 2);
  if (parts.query) {
    const { tokenizer, weights } = parts.query;
    IdfTable.fromEntries(Array.from(weights, (w, id): [string, number] => [tokenizer.idToToken(id), w])).save(path.join(dir, 'idf.json'));
  }
}

/** SpladePooling's activation names: 'relu' is log1p(relu), 'log1p_relu' one more log1p (l0, k = 1). */
function stActivation(activation: ActivationName, k: number): string {
  if (activation === 'relu') return 'relu';
  if (k === 1) return 'log1p_relu';
  throw new Error(`the l0 activation with k = ${k} has no sentence-transformers SpladePooling equivalent (only k = 1: 'log1p_relu'); save with layout 'hf'`);
}

const MODULES = {
  query: 'query_0_SparseStaticEmbedding',
  transformer: 'document_0_Transformer',
  pooling: 'document_1_SpladePooling',
};

export async function saveStLayout(dir: string, parts: SaveParts): Promise<void> {
  const activationFunction = stActivation(parts.activation, parts.k);
  if (!parts.query) throw new Error('the sentence-transformers layout needs query weights (SparseStaticEmbedding), but this encoder has none');
  fs.mkdirSync(dir, { recursive: true });
  writeJson(path.join(dir, 'modules.json'), [{ idx: 0, name: '0', path: '', type: 'sentence_transformers.base.modules.router.Router' }], 2);
  writeJson(path.join(dir, 'config_sentence_transformers.json'), {
    model_type: 'SparseEncoder', prompts: { query: '', document: '' }, default_prompt_name: null, similarity_fn_name: 'dot',
  }, 2);
  writeJson(path.join(dir, 'router_config.json'), {
    types: {
      [MODULES.query]: 'sentence_transformers.sparse_encoder.modules.sparse_static_embedding.SparseStaticEmbedding',
      [MODULES.transformer]: 'sentence_transformers.base.modules.transformer.Transformer',
      [MODULES.pooling]: 'sentence_transformers.sparse_encoder.modules.splade_pooling.SpladePooling',
    },
    structure: { query: [MODULES.query], document: [MODULES.transformer, MODULES.pooling] },
    parameters: { default_route: 'document', allow_empty_key: true, route_mappings: {} },
  }, 4);

  const transformerDir = path.join(dir, MODULES.transformer);
  fs.mkdirSync(transformerDir, { recursive: true });
  await parts.model.save(transformerDir);
  writeTokenizerFiles(transformerDir, parts.tokenizer, { maxLength: parts.maxLength, baseConfig: parts.tokenizerConfig });
  writeJson(path.join(transformerDir, 'sentence_bert_config.json'), {
    transformer_task: 'fill-mask',
    modality_config: { text: { method: 'forward', method_output_name: 'logits' } },
    module_output_name: 'token_embeddings',
  }, 4);

  const poolingDir = path.join(dir, MODULES.pooling);
  fs.mkdirSync(poolingDir, { recursive: true });
  writeJson(path.join(poolingDir, 'config.json'), { pooling_strategy: 'max', activation_function: activationFunction, embedding_dimension: null }, 4);

  const queryDir = path.join(dir, MODULES.query);
  fs.mkdirSync(queryDir, { recursive: true });
  writeJson(path.join(queryDir, 'config.json'), { frozen: true }, 4);
  writeStaticWeights(path.join(queryDir, 'model.safetensors'), parts.query.weights);
  writeTokenizerFiles(queryDir, parts.query.tokenizer, { maxLength: parts.maxLength, baseConfig: parts.query.tokenizerConfig });
}
