/**
 * HTTP(S) download into a file, for archives of hundreds of MB fetched on users' machines: the HTTP status is
 * checked, redirects followed, HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured (proxy.ts), the body streamed to a
 * temp file beside the target (lib/io naming, so a killed download is swept) while its SHA-256 is computed,
 * a body shorter than its Content-Length (a cut connection) detected, and only a complete file with the
 * expected hash renamed into place. Transient failures (network errors, cut bodies, HTTP 408/429/5xx) are
 * retried with exponential backoff; permanent ones (404, 403, a hash mismatch) fail at once.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';

import { fsyncFile, tempPathFor } from '../io';
import { type Env, proxyAuthorization, proxyFor } from './proxy';

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(message: string, readonly retryable: boolean, readonly status?: number) {
    super(message);
  }
}

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected SHA-256 (hex); null/undefined: computed and returned, not checked. */
  sha256?: string | null;
  /** Further tries after the first on transient failures (default 4). */
  retries?: number;
  /** First backoff; doubled after each failed try (default 1000 ms). */
  backoffMs?: number;
  /** A connection silent for this long counts as cut (default 60 s). */
  idleTimeoutMs?: number;
  env?: Env;
  onStart?: (total: number | null) => void;
  onProgress?: (received: number) => void;
  log?: (line: string) => void;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  attempts: number;
  seconds: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 5;

/** Opens a CONNECT tunnel through an HTTP(S) proxy to host:port. */
function tunnel(proxy: URL, target: URL, timeoutMs: number): Promise<net.Socket> {
  const port = target.port || '443';
  return new Promise((resolve, reject) => {
    const auth = proxyAuthorization(proxy);
    const req = (proxy.protocol === 'https:' ? https : http).request({
      host: proxy.hostname, port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80), method: 'CONNECT',
      path: `${target.hostname}:${port}`, headers: { host: `${target.hostname}:${port}`, ...(auth ? { 'proxy-authorization': auth } : {}) },
      timeout: timeoutMs,
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new DownloadError(`proxy ${proxy.host} refused CONNECT ${target.host}: HTTP ${res.statusCode}`, res.statusCode !== 407));
      }
    });
    req.on('timeout', () => req.destroy(new Error(`proxy ${proxy.host} did not answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new DownloadError(`proxy ${proxy.host}: ${e.message}`, true)));
    req.end();
  });
}

/** Sends a GET (directly or through the proxy the environment names) and resolves with the final response. */
async function get(url: URL, env: Env, timeoutMs: number, redirects = MAX_REDIRECTS): Promise<{ res: http.IncomingMessage; url: URL }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DownloadError(`unsupported URL ${url.href} (http or https only)`, false);
  const proxy = proxyFor(url, env);
  const options: https.RequestOptions = { method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'l0sparse-setup' } };
  let send: typeof http.request = url.protocol === 'https:' ? https.request : http.request;
  let target: string | URL = url;
  if (proxy && url.protocol === 'https:') {
    const socket = await tunnel(proxy, url, timeoutMs);
    options.agent = false;
    options.createConnection = () => tls.connect({ socket, servername: url.hostname });
  } else if (proxy) {
    // Plain HTTP through a proxy: the request line carries the absolute URL.
    send = proxy.protocol === 'https:' ? https.request : http.request;
    target = proxy;
    options.path = url.href;
    const auth = proxyAuthorization(proxy);
    options.headers = { ...options.headers, host: url.host, ...(auth ? { 'proxy-authorization': auth } : {}) };
  }
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = send(target, options, resolve);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new DownloadError(`GET ${url.href}: ${e.message}`, true)));
    req.end();
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (redirects === 0) throw new DownloadError(`GET ${url.href}: more than ${MAX_REDIRECTS} redirects`, false);
    return get(new URL(res.headers.location, url), env, timeoutMs, redirects - 1);
  }
  if (status !== 200) {
    res.resume();
    throw new DownloadError(`GET ${url.href}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, RETRYABLE_STATUS.has(status), status);
  }
  return { res, url };
}

/** One try: the body into `tmp`, hashed on the way; rejects when the body ends short of Content-Length. */
async function fetchOnce(o: DownloadOptions, tmp: string, timeoutMs: number): Promise<{ bytes: number; sha256: string }> {
  const { res, url } = await get(new URL(o.url), o.env ?? process.env, timeoutMs);
  const declared = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
  o.onStart?.(declared);
  const hash = crypto.createHash('sha256');
  // Opened synchronously, so that the temp exists before any failure and the caller's removal always finds it.
  const out = fs.createWriteStream(tmp, { fd: fs.openSync(tmp, 'w') });
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      res.setTimeout(timeoutMs, () => res.destroy(new Error(`connection idle for ${timeoutMs} ms`)));
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
        o.onProgress?.(bytes);
      });
      res.on('aborted', () => reject(new Error('connection closed by the server')));
      res.on('error', reject);
      out.on('error', (e) => reject(new DownloadError(`writing ${tmp}: ${e.message}`, false)));
      out.on('finish', () => resolve());
      res.pipe(out);
    });
  } catch (e) {
    out.destroy();
    if (e instanceof DownloadError) throw e;
    throw new DownloadError(`GET ${url.href}: ${(e as Error).message} after ${bytes} bytes`, true);
  }
  if (declared !== null && bytes !== declared) {
    throw new DownloadError(`GET ${url.href}: the connection was cut after ${bytes} of ${declared} bytes`, true);
  }
  return { bytes, sha256: hash.digest('hex') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Downloads `url` to `dest` (atomically, hash-checked), retrying transient failures with backoff. */
export async function downloadFile(o: DownloadOptions): Promise<DownloadResult> {
  const retries = o.retries ?? 4;
  const backoff = o.backoffMs ?? 1000;
  const timeoutMs = o.idleTimeoutMs ?? 60_000;
  const expected = o.sha256 ? o.sha256.toLowerCase() : null;
  if (expected && !/^[0-9a-f]{64}$/.test(expected)) throw new DownloadError(`'${o.sha256}' is not a SHA-256 (64 hex digits)`, false);
  fs.mkdirSync(path.dirname(path.resolve(o.dest)), { recursive: true });
  const t0 = Date.now();
  for (let attempt = 1; ; attempt++) {
    const tmp = tempPathFor(o.dest);
    try {
      const got = await fetchOnce(o, tmp, timeoutMs);
      if (expected && got.sha256 !== expected) {
        throw new DownloadError(`${o.url}: SHA-256 ${got.sha256} but ${expected} was expected (a different or corrupted file)`, false);
      }
      fsyncFile(tmp);
      fs.renameSync(tmp, o.dest);
      return { ...got, attempts: attempt, seconds: (Date.now() - t0) / 1000 };
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      const err = e instanceof DownloadError ? e : new DownloadError((e as Error).message, false);
      if (!err.retryable || attempt > retries) {
        if (attempt > 1) err.message += ` (gave up after ${attempt} tries)`;
        throw err;
      }
      const wait = backoff * 2 ** (attempt - 1);
      o.log?.(`${err.message}; retrying in ${(wait / 1000).toFixed(1)} s (try ${attempt + 1} of ${retries + 1})`);
      await sleep(wait);
    }
  }
}

/** SHA-256 (hex) of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
