/**
 * Index bodies (PUT /<index>) as pure functions, following the OpenSearch docs:
 *  - rank_features field keyed by token strings (Rank field types page);
 *  - sparse_vector field keyed by token ids with the SEISMIC method (Sparse vector page, OpenSearch 3.3+),
 *    which also needs the index setting index.sparse = true.
 */
import { type Version, unsupportedFeatures } from './versions';

/** SEISMIC algorithm parameters of a sparse_vector field; unset ones take OpenSearch's defaults. */
export interface SeismicParameters {
  /** Max documents kept per posting list (default 0.0005 * doc_count per segment); integer > 0. */
  n_postings?: number;
  /** Fraction of a posting list's documents used to set its cluster count (default 0.1); in (0, 1). */
  cluster_ratio?: number;
  /** Fraction of total weight kept when pruning cluster summaries (default 0.4); in (0, 1]. */
  summary_prune_ratio?: number;
  /** Minimum documents in a segment before SEISMIC is used (default 1,000,000); integer >= 0. */
  approximate_threshold?: number;
  /** Max token weight used to quantise at search time (default 16); > 0. */
  quantization_ceiling_search?: number;
  /** Max token weight used to quantise at ingest (default 3); > 0. */
  quantization_ceiling_ingest?: number;
}

export const SEISMIC_PARAMETER_NAMES: readonly (keyof SeismicParameters)[] = [
  'n_postings', 'cluster_ratio', 'summary_prune_ratio', 'approximate_threshold', 'quantization_ceiling_search', 'quantization_ceiling_ingest',
];

/** Checks the documented ranges, naming the first violation. */
export function validateSeismicParameters(p: SeismicParameters): void {
  for (const key of Object.keys(p)) {
    if (!SEISMIC_PARAMETER_NAMES.includes(key as keyof SeismicParameters)) throw new RangeError(`unknown SEISMIC parameter '${key}'`);
  }
  const check = (name: keyof SeismicParameters, ok: (v: number) => boolean, range: string) => {
    const v = p[name];
    if (v !== undefined && !(typeof v === 'number' && ok(v))) throw new RangeError(`SEISMIC ${name} must be ${range}, got ${v}`);
  };
  check('n_postings', (v) => Number.isInteger(v) && v > 0, 'an integer > 0');
  check('cluster_ratio', (v) => v > 0 && v < 1, 'in (0, 1)');
  check('summary_prune_ratio', (v) => v > 0 && v <= 1, 'in (0, 1]');
  check('approximate_threshold', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
  check('quantization_ceiling_search', (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
  check('quantization_ceiling_ingest', (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
}

export interface IndexSettingsOptions {
  shards?: number;
  replicas?: number;
  /** Store the doc id in a keyword field too (handy for filters); off by default. */
  idField?: string;
}

function settings(o: IndexSettingsOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const index: Record<string, unknown> = { ...extra };
  if (o.shards !== undefined) index.number_of_shards = o.shards;
  if (o.replicas !== undefined) index.number_of_replicas = o.replicas;
  return { index };
}

function checkFieldName(field: string): void {
  // A dotted name would make the mapping an object path, and the rank_feature query could not address
  // features of it unambiguously.
  if (!field || field.includes('.') || field.startsWith('_')) throw new RangeError(`field name '${field}' must be non-empty, without '.', not starting with '_'`);
}

/** Body for an index whose `field` is rank_features (token string -> weight). */
export function rankFeaturesIndexBody(field: string, o: IndexSettingsOptions = {}): Record<string, unknown> {
  checkFieldName(field);
  const properties: Record<string, unknown> = { [field]: { type: 'rank_features' } };
  if (o.idField) properties[o.idField] = { type: 'keyword' };
  return { settings: settings(o), mappings: { properties } };
}

/**
 * method.engine of a sparse_vector field: documented from OpenSearch 3.9 on (lucene, the default, or
 * native). Earlier neural-search releases refuse any key of `method` besides name and parameters, so
 * it is sent only when it changes something and the cluster takes it (methodEngineToSend).
 */
export type SparseVectorEngine = 'lucene' | 'native';

/**
 * The engine to put in the mapping for a cluster of version `version` (null: unknown), or undefined to
 * leave it out:
 *  - lucene is never sent: it is the default of every release, and older ones reject the key;
 *  - native needs 3.9 (FEATURES.method_engine): refused for an older cluster, sent when the version is
 *    unknown (the server then decides).
 */
export function methodEngineToSend(engine: SparseVectorEngine | undefined, version: Version | null): SparseVectorEngine | undefined {
  if (engine === undefined || engine === 'lucene') return undefined;
  if (engine !== 'native') throw new RangeError(`sparse_vector engine must be lucene or native, got '${engine}'`);
  if (version) {
    const problem = unsupportedFeatures(['method_engine'], version);
    if (problem) throw new Error(`${problem} (leave out --engine: such a cluster has the lucene engine only)`);
  }
  return engine;
}

/** Body for an index whose `field` is sparse_vector with SEISMIC (token id -> weight), OpenSearch >= 3.3. */
export function sparseVectorIndexBody(
  field: string, params: SeismicParameters = {}, o: IndexSettingsOptions = {}, engine?: SparseVectorEngine,
): Record<string, unknown> {
  checkFieldName(field);
  validateSeismicParameters(params);
  if (engine !== undefined && engine !== 'lucene' && engine !== 'native') throw new RangeError(`sparse_vector engine must be lucene or native, got '${engine}'`);
  const method: Record<string, unknown> = { name: 'seismic' };
  if (engine) method.engine = engine;
  const given = Object.fromEntries(SEISMIC_PARAMETER_NAMES.filter((k) => params[k] !== undefined).map((k) => [k, params[k]]));
  if (Object.keys(given).length) method.parameters = given;
  const properties: Record<string, unknown> = { [field]: { type: 'sparse_vector', method } };
  if (o.idField) properties[o.idField] = { type: 'keyword' };
  return { settings: settings(o, { sparse: true }), mappings: { properties } };
}
