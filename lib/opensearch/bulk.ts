/**
 * Sending one bulk batch with retries. The HTTP layer is a function (`BulkTransport`) so that the retry
 * and partial-failure logic is ours, testable, and independent of the client: in production it wraps
 * the official client's bulk call (client.ts), in tests a local scripted server.
 *
 * Retried: connection errors and timeouts, whole-request 429 / 502 / 503 / 504, and individual items
 * whose status is 429 or >= 500 (only those items are re-sent). Everything else is a permanent
 * per-document failure, reported with OpenSearch's error type and reason.
 */

export interface BulkHttpResponse {
  status: number;
  body: unknown;
}

/** Sends an NDJSON bulk body; resolves with any HTTP status, rejects only when no response came back. */
export type BulkTransport = (ndjson: string) => Promise<BulkHttpResponse>;

export interface BulkDoc {
  id: string;
  /** The two NDJSON lines (action metadata + source) without the trailing newline. */
  lines: [string, string];
}

export interface DocFailure {
  id: string;
  status: number;
  type: string;
  reason: string;
  attempts: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Delay before retry n (0-based) is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string; docs: number }) => void;
}

/** Raised when the cluster cannot be reached (or keeps refusing) after all retries: ingest stops. */
export class ClusterUnavailableError extends Error {}

/** Raised when a whole bulk request is rejected with a non-retryable status (e.g. 400, 401, 403, 413). */
export class BulkRequestError extends Error {
  constructor(message: string, readonly status: number) { super(message); }
}

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * cap);
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

interface BulkItemResult { status: number; error?: { type?: string; reason?: string; caused_by?: { reason?: string } } }

/** Parses the documented bulk response: {errors, items: [{index: {_id, status, error?}}]}. */
export function parseBulkItems(body: unknown, expected: number): BulkItemResult[] {
  const items = (body as { items?: unknown[] } | null)?.items;
  if (!Array.isArray(items) || items.length !== expected)
    throw new Error(`bulk response has ${Array.isArray(items) ? items.length : 'no'} items for ${expected} actions`);
  return items.map((it) => {
    const action = it && typeof it === 'object' ? Object.values(it as object)[0] as BulkItemResult | undefined : undefined;
    if (!action || typeof action.status !== 'number') throw new Error('bulk response item without a status');
    return action;
  });
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Reason text of a whole-request HTTP error body (OpenSearch: {error: {type, reason}, status}). */
function httpErrorText(res: BulkHttpResponse): string {
  const err = (res.body as { error?: { type?: string; reason?: string } | string } | null)?.error;
  if (typeof err === 'string') return err;
  if (err) return `${err.type ?? 'error'}: ${err.reason ?? ''}`;
  return typeof res.body === 'string' ? res.body.slice(0, 300) : JSON.stringify(res.body)?.slice(0, 300) ?? '';
}

/**
 * Sends `docs` until each is indexed or permanently failed. Resolves with the permanent failures;
 * rejects with ClusterUnavailableError when retries run out on the request level (no answer, or
 * 429/5xx for the whole request), and BulkRequestError for a non-retryable whole-request status.
 * Items still failing retryably after the last retry are reported as failures (nothing dropped).
 */
export async function sendBulkWithRetry(
  transport: BulkTransport, docs: readonly BulkDoc[], policy: RetryPolicy = DEFAULT_RETRY, hooks: RetryHooks = {},
): Promise<DocFailure[]> {
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = hooks.random ?? Math.random;
  const failures: DocFailure[] = [];
  let pending = [...docs];
  for (let attempt = 0; pending.length > 0; attempt++) {
    const body = pending.map((d) => d.lines[0] + '\n' + d.lines[1] + '\n').join('');
    let retryReason: string | null = null;
    let res: BulkHttpResponse | null = null;
    try {
      res = await transport(body);
    } catch (e) {
      retryReason = `no response: ${errorText(e)}`;
    }
    if (res) {
      if (res.status >= 200 && res.status < 300) {
        const items = parseBulkItems(res.body, pending.length);
        const again: BulkDoc[] = [];
        items.forEach((it, i) => {
          if (it.status >= 200 && it.status < 300) return;
          const failure = { id: pending[i].id, status: it.status, type: it.error?.type ?? 'unknown',
            reason: [it.error?.reason, it.error?.caused_by?.reason].filter(Boolean).join(' / '), attempts: attempt + 1 };
          if (isRetryableStatus(it.status) && attempt < policy.maxRetries) again.push(pending[i]);
          else failures.push(failure);
        });
        if (again.length === 0) return failures;
        retryReason = `${again.length} of ${pending.length} documents rejected with a retryable status (e.g. 429)`;
        pending = again;
      } else if (isRetryableStatus(res.status)) {
        retryReason = `HTTP ${res.status} ${httpErrorText(res)}`;
      } else {
        throw new BulkRequestError(`bulk request rejected with HTTP ${res.status}: ${httpErrorText(res)}` +
          (res.status === 413 ? ' (request too large: lower --batch-size)' : ''), res.status);
      }
    }
    if (attempt >= policy.maxRetries) {
      throw new ClusterUnavailableError(`giving up after ${attempt + 1} attempts: ${retryReason}`);
    }
    const delayMs = backoffDelay(attempt, policy, random);
    hooks.onRetry?.({ attempt: attempt + 1, delayMs, reason: retryReason!, docs: pending.length });
    await sleep(delayMs);
  }
  return failures;
}
