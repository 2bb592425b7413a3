/**
 * Proxy settings for downloads, read the way curl and npm read them: HTTPS_PROXY / HTTP_PROXY (either case;
 * ALL_PROXY as a fallback) name the proxy for each scheme, NO_PROXY lists hosts reached directly
 * ("*", host names matching as suffixes with or without a leading dot, optional ":port", IP literals).
 * Node 20's http/https modules ignore these variables, so downloads that must work behind a corporate proxy
 * resolve them here and tunnel through the proxy themselves (download.ts).
 */
export type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const v = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return v && v.trim() !== '' ? v.trim() : undefined;
}

/** Whether NO_PROXY exempts `url` from proxying. */
export function bypassesProxy(url: URL, env: Env): boolean {
  const list = read(env, 'no_proxy');
  if (!list) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of list.split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') return true;
    let entry = raw.toLowerCase();
    let entryPort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.includes('::')) { entry = m[1]; entryPort = m[2]; }
    entry = entry.replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (entryPort && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** The proxy URL to use for `url`, or null for a direct connection. */
export function proxyFor(url: URL, env: Env = process.env): URL | null {
  if (bypassesProxy(url, env)) return null;
  const scheme = url.protocol === 'https:' ? 'https_proxy' : 'http_proxy';
  const value = read(env, scheme) ?? read(env, 'all_proxy');
  if (!value) return null;
  let proxy: URL;
  try {
    proxy = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new Error(`${scheme.toUpperCase()}=${value} is not a URL (expected e.g. http://proxy.example:3128)`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new Error(`${scheme.toUpperCase()}=${value}: only http:// and https:// proxies are supported`);
  }
  return proxy;
}

/** The Proxy-Authorization header for a proxy URL with credentials (http://user:pass@host:port). */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}
