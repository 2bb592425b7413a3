/**
 * Reads the layout of a model directory without loading weights: which folder holds the masked LM, its
 * tokenizer, the pooling activation, the max length, and where the query-side weights are.
 *   hf:                    config.json + model.safetensors (or sharded index) + tokenizer.json|vocab.txt
 *                          [+ idf.json] [+ l0sparse_config.json, our record of activation and max length]
 *   sentence-transformers: modules.json → Router (router_config.json) with a query route
 *                          [SparseStaticEmbedding] and a document route [Transformer(fill-mask) or
 *                          MLMTransformer, SpladePooling]; or a plain [MLM transformer, SpladePooling] list.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { ActivationName } from '../ops/sparse-head';
import { configuredMaxLength, readTokenizerConfig } from './tokenizer-files';

export type ModelLayout = 'hf' | 'sentence-transformers';

/** Our record of the document pooling in HF-layout dirs (transformers has no place for it). */
export const SPARSE_CONFIG_FILE = 'l0sparse_config.json';

export interface DocumentSideSpec {
  /** config.json + weights of the masked LM. */
  modelDir: string;
  /** Folder with tokenizer.json or vocab.txt. */
  tokenizerDir: string;
  tokenizerConfig?: Record<string, unknown>;
  activation: ActivationName;
  /** Extra log1p count of the l0 activation. */
  k: number;
  /** Max tokens per document declared by the dir (before capping at the model's positions). */
  maxLength?: number;
}

export type QuerySideSpec =
  | { kind: 'idf-json'; file: string; tokenizerDir?: string }
  | { kind: 'static-weights'; file: string; tokenizerDir?: string };

export interface ModelDirSpec {
  layout: ModelLayout;
  dir: string;
  document: DocumentSideSpec;
  /** Absent when the dir has no inference-free query side. */
  query?: QuerySideSpec;
}

export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function readJsonObject(file: string, what: string): Record<string, unknown> {
  const value = readJsonFile(file, what);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file} must hold a JSON object (${what})`);
  return value as Record<string, unknown>;
}

function requireModelFiles(dir: string, what: string): void {
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`${what} ${dir} has no config.json`);
  const weights = ['model.safetensors', 'model.safetensors.index.json'];
  if (!weights.some((f) => fs.existsSync(path.join(dir, f)))) {
    const bin = fs.existsSync(path.join(dir, 'pytorch_model.bin')) ? ' (pytorch_model.bin is not supported: save the model with safetensors)' : '';
    throw new Error(`${what} ${dir} has neither model.safetensors nor model.safetensors.index.json${bin}`);
  }
  if (!['tokenizer.json', 'vocab.txt'].some((f) => fs.existsSync(path.join(dir, f)))) {
    throw new Error(`${what} ${dir} has neither tokenizer.json nor vocab.txt`);
  }
}

/** Maps SpladePooling's config to our activation; only max pooling exists in the fused head. */
function poolingActivation(file: string): { activation: ActivationName; k: number } {
  const config = readJsonObject(file, 'SpladePooling config');
  const strategy = config.pooling_strategy ?? 'max';
  if (strategy !== 'max') throw new Error(`${file}: pooling_strategy '${String(strategy)}' is not supported (l0sparse pools with max only)`);
  // ST's 'relu' is log1p(relu(x)) (SPLADE); 'log1p_relu' adds one more log1p, i.e. the l0 activation with k = 1.
  const fn = config.activation_function ?? 'relu';
  if (fn === 'relu') return { activation: 'relu', k: 0 };
  if (fn === 'log1p_relu') return { activation: 'l0', k: 1 };
  throw new Error(`${file}: activation_function '${String(fn)}' is not supported (expected 'relu' or 'log1p_relu')`);
}

function readHfLayout(dir: string): ModelDirSpec {
  requireModelFiles(dir, 'model dir');
  const tokenizerConfig = readTokenizerConfig(dir);
  const document: DocumentSideSpec = {
    modelDir: dir, tokenizerDir: dir, tokenizerConfig, activation: 'relu', k: 0, maxLength: configuredMaxLength(tokenizerConfig),
  };
  const settingsFile = path.join(dir, SPARSE_CONFIG_FILE);
  if (fs.existsSync(settingsFile)) {
    const settings = readJsonObject(settingsFile, 'l0sparse settings');
    if (settings.activation !== 'relu' && settings.activation !== 'l0') {
      throw new Error(`${settingsFile}: activation must be 'relu' or 'l0', got ${JSON.stringify(settings.activation)}`);
    }
    document.activation = settings.activation;
    const k = settings.k ?? (settings.activation === 'l0' ? 1 : 0);
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > 3) throw new Error(`${settingsFile}: k must be an integer in 0..3, got ${JSON.stringify(k)}`);
    document.k = settings.activation === 'relu' ? 0 : k;
    if (settings.maxLength !== undefined) {
      if (typeof settings.maxLength !== 'number' || !Number.isInteger(settings.maxLength) || settings.maxLength < 2) {
        throw new Error(`${settingsFile}: maxLength must be an integer ≥ 2, got ${JSON.stringify(settings.maxLength)}`);
      }
      document.maxLength = settings.maxLength;
    }
  }
  const idf = path.join(dir, 'idf.json');
  return { layout: 'hf', dir, document, query: fs.existsSync(idf) ? { kind: 'idf-json', file: idf } : undefined };
}

/** The class name at the end of a module type path ("sentence_transformers.models.Router" → "Router"). */
function className(type: unknown, file: string): string {
  if (typeof type !== 'string' || type === '') throw new Error(`${file}: module type ${JSON.stringify(type)} is not a class path`);
  return type.slice(type.lastIndexOf('.') + 1);
}

interface StModule { id: string; cls: string; dir: string }

/** Modules saved by the Router live in <dir>/<id>; released OpenSearch models keep the transformer at the root. */
function moduleDir(root: string, id: string): string {
  const sub = path.join(root, id);
  return fs.existsSync(sub) ? sub : root;
}

function documentSide(modules: StModule[], file: string): DocumentSideSpec {
  const mlm = modules.find((m) => m.cls === 'Transformer' || m.cls === 'MLMTransformer');
  const pooling = modules.find((m) => m.cls === 'SpladePooling');
  if (!mlm || !pooling) {
    throw new Error(`${file}: the document modules (${modules.map((m) => m.cls).join(', ') || 'none'}) are not a masked-LM Transformer followed by SpladePooling`);
  }
  const unsupported = modules.filter((m) => m !== mlm && m !== pooling);
  if (unsupported.length > 0) throw new Error(`${file}: document module ${unsupported[0].cls} is not supported`);
  requireModelFiles(mlm.dir, `document module ${mlm.id}:`);
  let maxLength: number | undefined;
  const stConfigFile = path.join(mlm.dir, 'sentence_bert_config.json');
  if (fs.existsSync(stConfigFile)) {
    const stConfig = readJsonObject(stConfigFile, 'sentence-transformers module config');
    const task = stConfig.transformer_task;
    if (task !== undefined && task !== 'fill-mask') throw new Error(`${stConfigFile}: transformer_task '${String(task)}' is not 'fill-mask'`);
    if (typeof stConfig.max_seq_length === 'number') maxLength = stConfig.max_seq_length;
  }
  const tokenizerConfig = readTokenizerConfig(mlm.dir);
  return { modelDir: mlm.dir, tokenizerDir: mlm.dir, tokenizerConfig, maxLength: maxLength ?? configuredMaxLength(tokenizerConfig), ...poolingActivation(path.join(pooling.dir, 'config.json')) };
}

function querySide(modules: StModule[], file: string, root: string): QuerySideSpec {
  // 'IDF' is the name early sentence-transformers 5 releases gave SparseStaticEmbedding.
  if (modules.length !== 1 || !['SparseStaticEmbedding', 'IDF'].includes(modules[0].cls)) {
    throw new Error(`${file}: the query route (${modules.map((m) => m.cls).join(', ') || 'empty'}) is not one SparseStaticEmbedding: only inference-free queries are supported`);
  }
  const { dir } = modules[0];
  const tokenizerDir = ['tokenizer.json', 'vocab.txt'].some((f) => fs.existsSync(path.join(dir, f))) ? dir : undefined;
  const configFile = path.join(dir, 'config.json');
  const config = fs.existsSync(configFile) ? readJsonObject(configFile, 'SparseStaticEmbedding config') : {};
  if (typeof config.path === 'string' && config.path.endsWith('.json')) {
    const candidates = [path.resolve(dir, config.path), path.resolve(root, config.path)];
    const idf = candidates.find((f) => fs.existsSync(f));
    if (!idf) throw new Error(`${configFile}: idf file '${config.path}' not found (looked at ${candidates.join(', ')})`);
    return { kind: 'idf-json', file: idf, tokenizerDir };
  }
  const weights = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(weights)) throw new Error(`query module ${modules[0].id}: ${dir} has no model.safetensors with the query weights`);
  return { kind: 'static-weights', file: weights, tokenizerDir };
}

function readStLayout(dir: string): ModelDirSpec {
  const modulesFile = path.join(dir, 'modules.json');
  const list = readJsonFile(modulesFile, 'sentence-transformers module list');
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${modulesFile} must be a non-empty JSON array of modules`);
  const entries = list.map((m: { path?: unknown; type?: unknown }, i) => {
    if (m === null || typeof m !== 'object') throw new Error(`${modulesFile}: entry ${i} is not an object`);
    return { cls: className(m.type, modulesFile), dir: path.join(dir, typeof m.path === 'string' ? m.path : '') };
  });
  if (entries.length === 1 && entries[0].cls === 'Router') {
    const routerDir = entries[0].dir;
    const routerFile = ['router_config.json', 'config.json'].map((f) => path.join(routerDir, f)).find((f) => fs.existsSync(f));
    if (!routerFile) throw new Error(`${routerDir} has no router_config.json for the Router in ${modulesFile}`);
    const router = readJsonObject(routerFile, 'Router config') as { types?: Record<string, unknown>; structure?: Record<string, unknown> };
    if (!router.types || !router.structure) throw new Error(`${routerFile} lacks "types" or "structure"`);
    const route = (name: string): StModule[] => {
      const ids = router.structure![name];
      if (ids === undefined) return [];
      if (!Array.isArray(ids)) throw new Error(`${routerFile}: structure.${name} is not a list of module ids`);
      return ids.map((id) => {
        if (typeof id !== 'string' || !(id in router.types!)) throw new Error(`${routerFile}: structure.${name} names unknown module ${JSON.stringify(id)}`);
        return { id, cls: className(router.types![id], routerFile), dir: moduleDir(routerDir, id) };
      });
    };
    const unknownRoutes = Object.keys(router.structure).filter((r) => r !== 'query' && r !== 'document');
    if (unknownRoutes.length > 0) throw new Error(`${routerFile}: routes ${unknownRoutes.join(', ')} are not supported (expected query and document)`);
    const documentModules = route('document');
    if (documentModules.length === 0) throw new Error(`${routerFile} has no document route`);
    const queryModules = route('query');
    return {
      layout: 'sentence-transformers', dir,
      document: documentSide(documentModules, routerFile),
      query: queryModules.length > 0 ? querySide(queryModules, routerFile, dir) : undefined,
    };
  }
  // A plain SPLADE pipeline (no Router): documents only, queries from a root idf.json when there is one.
  const document = documentSide(entries.map((e, i) => ({ id: String(i), ...e })), modulesFile);
  const idf = path.join(dir, 'idf.json');
  return { layout: 'sentence-transformers', dir, document, query: fs.existsSync(idf) ? { kind: 'idf-json', file: idf } : undefined };
}

export function readModelDir(dir: string): ModelDirSpec {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`model dir ${dir} does not exist or is not a directory`);
  if (fs.existsSync(path.join(dir, 'modules.json'))) return readStLayout(dir);
  if (fs.existsSync(path.join(dir, 'config.json'))) return readHfLayout(dir);
  throw new Error(`${dir} is neither a sentence-transformers model (modules.json) nor a transformers model (config.json)`);
}
