/**
 * Assembles what a user uploads to OpenSearch ML Commons for a doc-only ("inference-free") sparse model
 * from a saved l0sparse model directory (written by SparseEncoder.save: config.json, model.safetensors,
 * tokenizer.json or vocab.txt, idf.json). Files are validated and copied, never re-generated.
 *
 * Output directory:
 *   hf/                       the validated Hugging Face model dir (publish it, or trace it, see docs)
 *   sparse-tokenizer.zip      tokenizer.json + idf.json: the SPARSE_TOKENIZE query-side model
 *   register-sparse-tokenizer.json   body of POST /_plugins/_ml/models/_register for that zip
 *   sparse-encoding.zip       only when the source holds a traced model.pt / model.onnx (+ tokenizer.json)
 *   register-sparse-encoding.json    its register body (SPARSE_ENCODING)
 *   cluster-settings.json     body of PUT _cluster/settings that registering and deploying need
 *   manifest.json             what was written, hashes, and what was skipped and why
 *
 * ML Commons only runs TorchScript or ONNX (custom local models doc); a safetensors checkpoint alone
 * cannot serve as the SPARSE_ENCODING model, so that part is produced only from a traced file.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { linearQueryWeightProblem, MAX_LINEAR_QUERY_WEIGHT } from '../opensearch/limits';
import { writeFileAtomic } from '../io';
import { buildZip, type ZipEntry } from './zip';

export interface OpenSearchModelOptions {
  /** Model name in the register bodies (default: the source directory's name). */
  name?: string;
  version?: string;
  description?: string;
  /** Where the zips will be hosted (the register body's "url" is this + "/" + zip name). */
  baseUrl?: string;
}

export interface RegisterBody {
  name: string;
  version: string;
  description: string;
  model_format: 'TORCH_SCRIPT' | 'ONNX';
  function_name: 'SPARSE_TOKENIZE' | 'SPARSE_ENCODING';
  model_content_size_in_bytes: number;
  model_content_hash_value: string;
  url: string;
}

export interface OpenSearchModelReport {
  outDir: string;
  hfFiles: string[];
  tokenizer: { zip: string; register: string; sha256: string; bytes: number } | { skipped: string };
  encoder: { zip: string; register: string; sha256: string; bytes: number } | { skipped: string };
  clusterSettings: { file: string; body: typeof ML_COMMONS_CLUSTER_SETTINGS };
}

/**
 * Cluster settings a first deployment needs (ml-commons MLCommonsSettings):
 *  - allow_registering_model_via_url (default false): _register with a "url" is refused without it;
 *  - only_run_on_ml_node (default true): models deploy only to nodes with the ml role, so on a cluster
 *    without dedicated ML nodes (single node, docker) `_register?deploy=true` finds no eligible node.
 *    A cluster that has ML nodes should keep it true (docs/OPENSEARCH.md §5).
 */
export const ML_COMMONS_CLUSTER_SETTINGS = {
  persistent: {
    'plugins.ml_commons.allow_registering_model_via_url': true,
    'plugins.ml_commons.only_run_on_ml_node': false,
  },
} as const;

/** Placeholder left in "url" when no baseUrl is given; docs/OPENSEARCH.md tells what to put there. */
export const URL_PLACEHOLDER = 'REPLACE_WITH_URL_OF';

function readJson(file: string): unknown {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new Error(`${file}: ${(e as Error).message}`); }
}

/** Checks the safetensors header without reading the tensors: u64 header length, JSON header, data size. */
export function validateSafetensors(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (fs.readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${file}: too short for safetensors`);
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || 8 + n > size) throw new Error(`${file}: header length ${n} does not fit a ${size}-byte file`);
    const json = Buffer.alloc(n);
    fs.readSync(fd, json, 0, n, 8);
    const header = JSON.parse(json.toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
    let end = 0;
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__' && v.data_offsets) end = Math.max(end, v.data_offsets[1]);
    if (8 + n + end !== size) throw new Error(`${file}: tensors end at ${8 + n + end} but the file has ${size} bytes`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * idf.json must map token strings to finite numbers (ML Commons reads it as Map<String, Float>), each in
 * (0, 64] as a float32: the SPARSE_TOKENIZE model sends a query token's idf as its neural_sparse weight
 * unchanged, and Lucene's linear feature query refuses anything else (limits.ts), failing every query
 * that contains the token. The message names the first offending token and how to fix the table.
 */
export function validateIdf(file: string): number {
  const idf = readJson(file);
  if (typeof idf !== 'object' || idf === null || Array.isArray(idf)) throw new Error(`${file}: expected an object token -> weight`);
  const entries = Object.entries(idf);
  let max = 0;
  for (const [token, w] of entries) {
    if (typeof w !== 'number' || !Number.isFinite(w)) throw new Error(`${file}: weight of ${JSON.stringify(token)} is not a finite number`);
    if (w > max) max = w;
  }
  const bad = entries.filter(([, w]) => linearQueryWeightProblem(w as number) !== null);
  if (bad.length) {
    const [token, w] = bad[0] as [string, number];
    const fixes: string[] = [];
    if (bad.some(([, v]) => Math.fround(v as number) > MAX_LINEAR_QUERY_WEIGHT))
      fixes.push(`divide every weight by ${max / MAX_LINEAR_QUERY_WEIGHT} (largest weight / ${MAX_LINEAR_QUERY_WEIGHT}): rankings stay the same, scores shrink by that factor`);
    if (bad.some(([, v]) => !(Math.fround(v as number) > 0)))
      fixes.push('give tokens at or below 0 a small positive weight such as 1e-6 (removing a token would make it weigh 1.0, the weight of absent tokens)');
    throw new Error(`${file}: the weight of ${JSON.stringify(token)} is ${w}${bad.length > 1 ? ` (and ${bad.length - 1} more tokens are out of range)` : ''}; ` +
      `ML Commons' SPARSE_TOKENIZE model uses idf weights as neural_sparse query weights, which must lie in (0, ${MAX_LINEAR_QUERY_WEIGHT}]. Fix: ${fixes.join('; ')}`);
  }
  return entries.length;
}

function zipAndRegister(
  outDir: string, zipName: string, entries: ZipEntry[], body: Omit<RegisterBody, 'model_content_size_in_bytes' | 'model_content_hash_value' | 'url'>, baseUrl?: string,
): { zip: string; register: string; sha256: string; bytes: number } {
  const zip = buildZip(entries);
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const zipPath = path.join(outDir, zipName);
  writeFileAtomic(zipPath, zip);
  const url = `${baseUrl ? baseUrl.replace(/\/+$/, '') : URL_PLACEHOLDER}/${zipName}`;
  const register: RegisterBody = { ...body, model_content_size_in_bytes: zip.length, model_content_hash_value: sha256, url };
  const registerPath = path.join(outDir, `register-${zipName.replace(/\.zip$/, '')}.json`);
  writeFileAtomic(registerPath, JSON.stringify(register, null, 2) + '\n');
  return { zip: zipPath, register: registerPath, sha256, bytes: zip.length };
}

export function exportOpenSearchModel(srcDir: string, outDir: string, opts: OpenSearchModelOptions = {}): OpenSearchModelReport {
  const src = (f: string) => path.join(srcDir, f);
  const need = ['config.json', 'model.safetensors', 'idf.json'];
  const missing = need.filter((f) => !fs.existsSync(src(f)));
  const hasTokenizerJson = fs.existsSync(src('tokenizer.json'));
  if (!hasTokenizerJson && !fs.existsSync(src('vocab.txt'))) missing.push('tokenizer.json or vocab.txt');
  if (missing.length) throw new Error(`${srcDir} is not a saved l0sparse model: missing ${missing.join(', ')}`);

  const config = readJson(src('config.json')) as { model_type?: unknown };
  if (typeof config.model_type !== 'string') throw new Error(`${src('config.json')}: no "model_type"; not a Hugging Face config`);
  validateSafetensors(src('model.safetensors'));
  validateIdf(src('idf.json'));
  if (hasTokenizerJson) readJson(src('tokenizer.json'));

  if (path.resolve(srcDir) === path.resolve(outDir)) throw new Error('output directory must differ from the model directory');
  const hfDir = path.join(outDir, 'hf');
  fs.mkdirSync(hfDir, { recursive: true });
  const optional = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'README.md'];
  const hfFiles = [...need, ...optional.filter((f) => fs.existsSync(src(f)))];
  for (const f of hfFiles) fs.copyFileSync(src(f), path.join(hfDir, f));

  const name = opts.name ?? path.basename(path.resolve(srcDir));
  const version = opts.version ?? '1.0.0';
  const description = opts.description ?? `l0sparse inference-free sparse model ${name}`;
  const clusterSettingsFile = path.join(outDir, 'cluster-settings.json');
  writeFileAtomic(clusterSettingsFile, JSON.stringify(ML_COMMONS_CLUSTER_SETTINGS, null, 2) + '\n');
  const report: OpenSearchModelReport = {
    outDir, hfFiles, clusterSettings: { file: clusterSettingsFile, body: ML_COMMONS_CLUSTER_SETTINGS },
    tokenizer: { skipped: 'no tokenizer.json in the model directory (ML Commons loads the tokenizer from tokenizer.json only)' },
    encoder: { skipped: 'no traced model.pt (TorchScript) or model.onnx in the model directory; ML Commons cannot run safetensors — see docs/OPENSEARCH.md "Model export"' },
  };
  if (hasTokenizerJson) {
    const tokenizerJson = fs.readFileSync(src('tokenizer.json'));
    report.tokenizer = zipAndRegister(outDir, 'sparse-tokenizer.zip',
      [{ name: 'tokenizer.json', data: tokenizerJson }, { name: 'idf.json', data: fs.readFileSync(src('idf.json')) }],
      { name: `${name}-tokenizer`, version, description: `${description} (query tokenizer with idf weights)`, model_format: 'TORCH_SCRIPT', function_name: 'SPARSE_TOKENIZE' },
      opts.baseUrl);
    const traced = ['model.pt', 'model.onnx'].find((f) => fs.existsSync(src(f)));
    if (traced) {
      report.encoder = zipAndRegister(outDir, 'sparse-encoding.zip',
        [{ name: traced, data: fs.readFileSync(src(traced)) }, { name: 'tokenizer.json', data: tokenizerJson }],
        { name, version, description: `${description} (document encoder)`, model_format: traced.endsWith('.pt') ? 'TORCH_SCRIPT' : 'ONNX', function_name: 'SPARSE_ENCODING' },
        opts.baseUrl);
    }
  }
  writeFileAtomic(path.join(outDir, 'manifest.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}
