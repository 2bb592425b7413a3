import * as assert from 'assert';

import { bypassesProxy, proxyAuthorization, proxyFor } from '../../lib/setup/proxy';

describe('setup/proxy: proxy variables', () => {
  const u = (s: string) => new URL(s);

  it('picks HTTPS_PROXY for https and HTTP_PROXY for http, either case, ALL_PROXY as fallback', () => {
    const env = { HTTPS_PROXY: 'http://secure:3128', http_proxy: 'plain:8080' };
    assert.equal(proxyFor(u('https://download.pytorch.org/x'), env)?.href, 'http://secure:3128/');
    assert.equal(proxyFor(u('http://mirror.local/x'), env)?.href, 'http://plain:8080/');
    assert.equal(proxyFor(u('http://a/x'), { ALL_PROXY: 'http://all:1' })?.host, 'all:1');
    assert.equal(proxyFor(u('https://a/x'), {}), null);
    assert.equal(proxyFor(u('https://a/x'), { HTTPS_PROXY: '  ' }), null);
  });

  it('honours NO_PROXY: *, suffixes with or without a leading dot, ports, IP literals', () => {
    const env = (no: string) => ({ NO_PROXY: no });
    assert.equal(bypassesProxy(u('https://x.example.com/'), env('*')), true);
    assert.equal(bypassesProxy(u('https://x.example.com/'), env('example.com')), true);
    assert.equal(bypassesProxy(u('https://x.example.com/'), env('.example.com')), true);
    assert.equal(bypassesProxy(u('https://example.com/'), env('.example.com')), true);
    assert.equal(bypassesProxy(u('https://badexample.com/'), env('example.com')), false);
    assert.equal(bypassesProxy(u('http://127.0.0.1:8080/'), env('localhost, 127.0.0.1:8080')), true);
    assert.equal(bypassesProxy(u('http://127.0.0.1:9090/'), env('127.0.0.1:8080')), false);
    assert.equal(bypassesProxy(u('https://mirror.corp/'), env('other.corp')), false);
    assert.equal(proxyFor(u('https://mirror.corp/'), { HTTPS_PROXY: 'http://p:1', no_proxy: 'mirror.corp' }), null);
  });

  it('builds Basic credentials from the proxy URL and rejects what is not a proxy URL', () => {
    const p = proxyFor(u('https://a/'), { HTTPS_PROXY: 'http://me:p%40ss@proxy:3128' })!;
    assert.equal(proxyAuthorization(p), `Basic ${Buffer.from('me:p@ss').toString('base64')}`);
    assert.throws(() => proxyFor(u('https://a/'), { HTTPS_PROXY: 'socks5://proxy:1080' }), /HTTPS_PROXY=socks5.*only http/);
  });
});
