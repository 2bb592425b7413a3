/**
 * The official client (@opensearch-project/opensearch) behind our functions. Its own retries are
 * turned off (maxRetries 0) so that every retry is ours and accounted for (bulk.ts).
 */
import { Client, errors } from '@opensearch-project/opensearch';

import type { BulkHttpResponse, BulkTransport } from './bulk';
import type { RootTransport } from './versions';

export interface ClientOptions {
  url: string;
  username?: string;
  password?: string;
  /** Accept self-signed certificates (local test clusters); off by default. */
  insecure?: boolean;
  requestTimeoutMs?: number;
}

export function createClient(o: ClientOptions): Client {
  return new Client({
    node: o.url,
    auth: o.username !== undefined ? { username: o.username, password: o.password ?? '' } : undefined,
    ssl: o.insecure ? { rejectUnauthorized: false } : undefined,
    maxRetries: 0,
    requestTimeout: o.requestTimeoutMs ?? 120_000,
  });
}

/**
 * Turns a client error into an HTTP response when the server did answer (so status-based retry logic
 * sees it), and rethrows when it did not (connection refused, timeout: retried as "no response").
 */
function asResponse(e: unknown): BulkHttpResponse {
  if (e instanceof errors.ResponseError) return { status: e.meta.statusCode ?? 500, body: e.meta.body };
  throw e;
}

/** Bulk transport on the client: POST /<index>/_bulk with the NDJSON body as is. */
export function clientBulkTransport(client: Client, index: string): BulkTransport {
  return async (ndjson) => {
    try {
      // Through the client's transport rather than client.bulk(), which sends PUT: the Bulk API docs
      // strongly recommend POST. A string bulkBody goes out unserialised (Transport: shouldSerialize),
      // byte for byte as we built it, with the NDJSON content type.
      const res = await client.transport.request({ method: 'POST', path: `/${encodeURIComponent(index)}/_bulk`, bulkBody: ndjson });
      return { status: res.statusCode ?? 200, body: res.body };
    } catch (e) {
      return asResponse(e);
    }
  };
}

/** Generic request-with-status, used for searches (same retry classification as bulk). */
export type SearchTransport = (index: string, body: Record<string, unknown>) => Promise<BulkHttpResponse>;

export function clientSearchTransport(client: Client): SearchTransport {
  return async (index, body) => {
    try {
      const res = await client.search({ index, body });
      return { status: res.statusCode ?? 200, body: res.body };
    } catch (e) {
      return asResponse(e);
    }
  };
}

/** GET / (cluster name and version) on the client, for the version checks of versions.ts. */
export function clientRootTransport(client: Client): RootTransport {
  return async () => {
    try {
      const res = await client.info();
      return { status: res.statusCode ?? 200, body: res.body };
    } catch (e) {
      return asResponse(e);
    }
  };
}

export interface RefreshResult {
  /** Shard copies the refresh reached, and how many of them failed (then some documents stay invisible until the next periodic refresh). */
  total: number;
  failed: number;
}

/**
 * /<index>/_refresh (the client's indices.refresh): makes everything indexed so far visible to search. Without it, documents
 * become visible at the next periodic refresh (index.refresh_interval, 1 s by default; -1, as often set
 * for bulk loads, means never), so a search started right after an ingest can miss the last batches.
 */
export async function refreshIndex(client: Client, index: string): Promise<RefreshResult> {
  try {
    const res = await client.indices.refresh({ index });
    const shards = (res.body as { _shards?: { total?: number; failed?: number } })._shards;
    return { total: shards?.total ?? 0, failed: shards?.failed ?? 0 };
  } catch (e) {
    if (e instanceof errors.ResponseError) {
      const err = (e.meta.body as { error?: { type?: string; reason?: string } } | undefined)?.error;
      throw new Error(`refreshing index '${index}' failed with HTTP ${e.meta.statusCode}: ${err?.type ?? ''} ${err?.reason ?? JSON.stringify(e.meta.body)}`);
    }
    throw e;
  }
}

export interface CreateIndexResult {
  created: boolean;
  existed: boolean;
}

/**
 * PUT /<index> with `body`. An existing index is an error unless `ifExists` is 'skip' (then left as is)
 * or 'recreate' (deleted first: explicit, since it destroys data).
 */
export async function createIndex(
  client: Client, index: string, body: Record<string, unknown>, ifExists: 'error' | 'skip' | 'recreate' = 'error',
): Promise<CreateIndexResult> {
  const exists = (await client.indices.exists({ index })).body === true;
  if (exists) {
    if (ifExists === 'skip') return { created: false, existed: true };
    if (ifExists === 'error') throw new Error(`index '${index}' already exists (use --if-exists skip or recreate)`);
    await client.indices.delete({ index });
  }
  try {
    await client.indices.create({ index, body });
  } catch (e) {
    if (e instanceof errors.ResponseError) {
      const err = (e.meta.body as { error?: { type?: string; reason?: string } } | undefined)?.error;
      throw new Error(`creating index '${index}' failed with HTTP ${e.meta.statusCode}: ${err?.type ?? ''} ${err?.reason ?? JSON.stringify(e.meta.body)}`);
    }
    throw e;
  }
  return { created: true, existed: exists };
}

/** Human message for "cannot reach the cluster", naming the URL and the underlying error. */
export function describeConnectionError(url: string, e: unknown): string {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `cannot reach OpenSearch at ${url} (${msg})`;
}
