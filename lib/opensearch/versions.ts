/**
 * The cluster's version, read from the root endpoint (GET /: version.number, version.distribution),
 * checked against the first release that accepts what we are about to send, so that an old cluster gets
 * a message naming the feature and the version it needs instead of a parsing error per request.
 * A version that cannot be read (no permission for GET /, a proxy, an unknown distribution) is a
 * warning, not an error: the request is sent and the server has the last word.
 */
import type { BulkHttpResponse } from './bulk';

/** GET / on the cluster; resolves with any HTTP status, rejects only when no response came back. */
export type RootTransport = () => Promise<BulkHttpResponse>;

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** As the cluster reported it (e.g. "3.3.0-SNAPSHOT"). */
  text: string;
}

/** What the version decides, and since when (OpenSearch release notes and docs/OPENSEARCH.md, "Versions"). */
export const FEATURES = {
  query_tokens: { since: [2, 14], what: 'neural_sparse with raw query_tokens' },
  sparse_vector: { since: [3, 3], what: 'sparse_vector fields (SEISMIC) and neural_sparse method_parameters' },
  method_engine: { since: [3, 9], what: 'sparse_vector method.engine' },
} as const;

export type Feature = keyof typeof FEATURES;

export function parseVersion(text: string): Version | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text };
}

export function atLeast(v: Version, since: readonly [number, number]): boolean {
  return v.major > since[0] || (v.major === since[0] && v.minor >= since[1]);
}

export type ClusterVersion = { version: Version } | { unknown: string };

/**
 * OpenSearch's `compatibility.override_main_response_version` makes GET / report 7.10.2 (for old
 * Elasticsearch clients); no OpenSearch release has that number, so it says nothing about the real one.
 */
const COMPATIBILITY_OVERRIDE = '7.10.2';

export async function readClusterVersion(root: RootTransport): Promise<ClusterVersion> {
  let res: BulkHttpResponse;
  try {
    res = await root();
  } catch (e) {
    return { unknown: `GET / got no response (${e instanceof Error ? e.message : String(e)})` };
  }
  if (res.status < 200 || res.status >= 300) return { unknown: `GET / answered HTTP ${res.status}` };
  const v = (res.body as { version?: { number?: unknown; distribution?: unknown } } | null)?.version;
  if (v?.distribution !== 'opensearch') return { unknown: `GET / does not report distribution "opensearch" (got ${JSON.stringify(v?.distribution)})` };
  if (typeof v.number !== 'string') return { unknown: 'GET / reports no version.number' };
  if (v.number === COMPATIBILITY_OVERRIDE) return { unknown: `GET / reports ${COMPATIBILITY_OVERRIDE}, the compatibility override (compatibility.override_main_response_version), not the real version` };
  const version = parseVersion(v.number);
  return version ? { version } : { unknown: `GET / reports version ${JSON.stringify(v.number)}, which does not parse` };
}

/** Message naming what `v` lacks among `features`, or null when it has them all. */
export function unsupportedFeatures(features: readonly Feature[], v: Version): string | null {
  const missing = features.filter((f) => !atLeast(v, FEATURES[f].since));
  if (!missing.length) return null;
  return missing.map((f) => `${FEATURES[f].what} needs OpenSearch ${FEATURES[f].since.join('.')} or later`).join('; ') +
    `, and the cluster is ${v.text}`;
}

/**
 * Reads the version and throws when the cluster is too old for `features`; when the version cannot be
 * read, calls `warn` and resolves (the request goes out). Returns what it read.
 */
export async function requireClusterFeatures(root: RootTransport, features: readonly Feature[], warn: (msg: string) => void): Promise<ClusterVersion> {
  const cluster = await readClusterVersion(root);
  if ('unknown' in cluster) {
    warn(`cannot check the cluster version: ${cluster.unknown}; sending anyway (${features.map((f) => `${FEATURES[f].what} needs ${FEATURES[f].since.join('.')}+`).join(', ')})`);
    return cluster;
  }
  const problem = unsupportedFeatures(features, cluster.version);
  if (problem) throw new Error(problem);
  return cluster;
}
