import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DownloadError, downloadFile } from '../../lib/setup/download';
import { sendBody, startServer, type TestServer } from './http-fixture';

describe('setup/download: HTTP downloads', () => {
  const body = crypto.randomBytes(300_000);
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  let tmp: string;
  let server: TestServer;
  const noProxy = { NO_PROXY: '' };

  before(async () => {
    server = await startServer({
      '/ok.zip': (_q, res) => sendBody(res, body),
      '/flaky.zip': (_q, res, n) => { if (n <= 2) { res.statusCode = 503; res.end('busy'); } else sendBody(res, body); },
      '/cut-once.zip': (_q, res, n) => sendBody(res, body, n === 1 ? 100_000 : undefined),
      '/always-cut.zip': (_q, res) => sendBody(res, body, 50_000),
      '/moved.zip': (_q, res) => { res.writeHead(302, { location: '/ok.zip' }); res.end(); },
      '/forbidden.zip': (_q, res) => { res.statusCode = 403; res.end('no'); },
    });
  });
  after(() => server.close());
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0s-dl-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const dest = () => path.join(tmp, 'archive.zip');
  const leftovers = () => fs.readdirSync(tmp).filter((f) => f !== 'archive.zip');

  it('downloads, checks the SHA-256 and follows redirects', async () => {
    const r = await downloadFile({ url: server.url('/moved.zip'), dest: dest(), sha256: sha, env: noProxy });
    assert.equal(r.sha256, sha);
    assert.equal(r.bytes, body.length);
    assert.equal(r.attempts, 1);
    assert.ok(fs.readFileSync(dest()).equals(body));
    assert.deepEqual(leftovers(), []);
  });

  it('retries HTTP 503 with backoff and succeeds', async () => {
    const logs: string[] = [];
    const r = await downloadFile({ url: server.url('/flaky.zip'), dest: dest(), sha256: sha, backoffMs: 5, env: noProxy, log: (l) => logs.push(l) });
    assert.equal(r.attempts, 3);
    assert.equal(server.hits('/flaky.zip'), 3);
    assert.equal(logs.length, 2);
    assert.match(logs[0], /HTTP 503.*retrying in 0\.0 s \(try 2 of 5\)/);
  });

  it('detects a connection cut mid-body, retries, and never leaves a partial file', async () => {
    const r = await downloadFile({ url: server.url('/cut-once.zip'), dest: dest(), sha256: sha, backoffMs: 5, env: noProxy });
    assert.equal(r.attempts, 2);
    assert.ok(fs.readFileSync(dest()).equals(body));
    await assert.rejects(downloadFile({ url: server.url('/always-cut.zip'), dest: path.join(tmp, 'cut.zip'), retries: 2, backoffMs: 5, env: noProxy }),
      (e: Error) => /cut after \d+ of 300000 bytes|closed|aborted|socket hang up/.test(e.message) && /gave up after 3 tries/.test(e.message));
    assert.deepEqual(leftovers(), []);
  });

  it('fails at once on 404 and 403, naming the URL and status', async () => {
    for (const [p, status] of [['/missing.zip', 404], ['/forbidden.zip', 403]] as const) {
      await assert.rejects(downloadFile({ url: server.url(p), dest: dest(), backoffMs: 5, env: noProxy }),
        (e: DownloadError) => e.status === status && e.message.includes(server.url(p)) && e.message.includes(`HTTP ${status}`) && !e.retryable);
      assert.equal(server.hits(p), 1);
    }
    assert.equal(fs.existsSync(dest()), false);
  });

  it('rejects a checksum mismatch without retrying and keeps no file', async () => {
    const before = server.hits('/ok.zip');
    const wrong = 'ab'.repeat(32);
    await assert.rejects(downloadFile({ url: server.url('/ok.zip'), dest: dest(), sha256: wrong, env: noProxy }),
      (e: Error) => e.message.includes(sha) && e.message.includes(wrong));
    assert.equal(server.hits('/ok.zip'), before + 1);
    assert.equal(fs.existsSync(dest()), false);
    assert.deepEqual(leftovers(), []);
    await assert.rejects(downloadFile({ url: server.url('/ok.zip'), dest: dest(), sha256: 'xyz', env: noProxy }), /not a SHA-256/);
  });

  it('goes through HTTP_PROXY (absolute request URL) unless NO_PROXY names the host', async () => {
    const target = 'http://libtorch.invalid/cpu/ok.zip';
    const proxy = await startServer({ '/cpu/ok.zip': (_q, res) => sendBody(res, body) });
    try {
      const r = await downloadFile({ url: target, dest: dest(), sha256: sha, env: { HTTP_PROXY: proxy.url('') } });
      assert.equal(r.bytes, body.length);
      assert.deepEqual(proxy.seen, [target]);
      await assert.rejects(downloadFile({ url: target, dest: path.join(tmp, 'x.zip'), retries: 0, env: { HTTP_PROXY: proxy.url(''), NO_PROXY: 'libtorch.invalid' } }),
        /libtorch\.invalid/);
      assert.equal(proxy.seen.length, 1);
    } finally {
      await proxy.close();
    }
  });

  it('tunnels HTTPS through the proxy with CONNECT and reports a refusal', async () => {
    const connects: string[] = [];
    server.server.once('connect', (req, socket) => {
      connects.push(req.url ?? '');
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    await assert.rejects(downloadFile({ url: 'https://download.pytorch.org/libtorch/cpu/x.zip', dest: dest(), retries: 0, env: { HTTPS_PROXY: server.url('') } }),
      /proxy 127\.0\.0\.1:\d+ refused CONNECT download\.pytorch\.org: HTTP 403/);
    assert.deepEqual(connects, ['download.pytorch.org:443']);
  });
});
