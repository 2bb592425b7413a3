import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { type ArchiveEntry, SetupError, archiveUrl, findLibTorch, installLibTorch, parseVariant, requestedVariant } from '../../lib/setup/libtorch';
import { sendBody, startServer } from './http-fixture';
import { buildZip } from './zip-writer';

const entry: ArchiveEntry = {
  package: '@l0sparse/linux-x64-cpu', torch: '2.13.0', tag: 'torch2130-cpu', path: 'cpu',
  file: 'libtorch-shared-with-deps-2.13.0+cpu.zip', sha256: null,
};

/** A LibTorch-shaped folder: what describeRoot reads (build-version or version.py) and TorchConfig.cmake. */
function fakeLibTorch(dir: string, buildVersion: string): string {
  fs.mkdirSync(path.join(dir, 'share', 'cmake', 'Torch'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
  fs.writeFileSync(path.join(dir, 'lib', 'libtorch.so'), 'not really\n');
  fs.writeFileSync(path.join(dir, 'build-version'), `${buildVersion}\n`);
  return dir;
}

function fakeArchive(buildVersion: string): Buffer {
  return buildZip([
    { name: 'libtorch/' },
    { name: 'libtorch/build-version', data: `${buildVersion}\n` },
    { name: 'libtorch/share/cmake/Torch/TorchConfig.cmake', data: '# fake\n' },
    { name: 'libtorch/lib/libtorch.so', data: 'not really\n', mode: 0o100755 },
  ]);
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('setup/libtorch: which LibTorch a prebuilt addon gets', () => {
  let tmp: string;
  let env: Record<string, string>;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0s-lt-'));
    env = { L0SPARSE_CACHE: path.join(tmp, 'cache'), NO_PROXY: '*' };
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads the variant from L0SPARSE_VARIANT, then the npm config key, default cpu', () => {
    assert.equal(requestedVariant({}), 'cpu');
    assert.equal(requestedVariant({ npm_config_l0sparse_variant: 'cuda' }), 'cuda');
    assert.equal(requestedVariant({ L0SPARSE_VARIANT: 'CPU', npm_config_l0sparse_variant: 'cuda' }), 'cpu');
    assert.throws(() => parseVariant('rocm', 'L0SPARSE_VARIANT'), (e: Error) => e instanceof SetupError && /L0SPARSE_VARIANT=rocm.*cpu.*cuda/.test(e.message));
  });

  it('builds the official URL or the mirror URL with the + escaped', () => {
    assert.equal(archiveUrl(entry, 'https://download.pytorch.org/libtorch/'),
      'https://download.pytorch.org/libtorch/cpu/libtorch-shared-with-deps-2.13.0%2Bcpu.zip');
  });

  it('uses L0SPARSE_LIBTORCH only when its version and variant match', () => {
    const good = fakeLibTorch(path.join(tmp, 'good'), '2.13.0+cpu');
    assert.deepEqual(findLibTorch(entry, { ...env, L0SPARSE_LIBTORCH: good }),
      { root: good, version: '2.13.0+cpu', variant: 'cpu', tag: 'torch2130-cpu', source: 'L0SPARSE_LIBTORCH' });
    const cuda = fakeLibTorch(path.join(tmp, 'cuda'), '2.13.0+cu130');
    assert.throws(() => findLibTorch(entry, { ...env, L0SPARSE_LIBTORCH: cuda }),
      (e: Error) => e instanceof SetupError && e.message.includes('torch2130-cu130') && e.message.includes('unset L0SPARSE_LIBTORCH'));
    const old = fakeLibTorch(path.join(tmp, 'old'), '2.12.0+cpu');
    assert.throws(() => findLibTorch(entry, { ...env, L0SPARSE_LIBTORCH: old }), /2\.12\.0\+cpu \(torch2120-cpu\)/);
    assert.throws(() => findLibTorch(entry, { ...env, L0SPARSE_LIBTORCH: tmp + '/nothing' }), /not a LibTorch folder/);
  });

  it('finds the per-user cache, and a Python torch only when its variant matches', () => {
    assert.equal(findLibTorch(entry, env), null);
    // A fake interpreter: prints the torch package folder that `python -c 'import torch; ...'` would.
    const torchDir = fakeLibTorch(path.join(tmp, 'site', 'torch'), '2.13.0+cu130');
    const python = path.join(tmp, 'python');
    fs.writeFileSync(python, `#!/bin/sh\necho ${torchDir}\n`, { mode: 0o755 });
    const notes: string[] = [];
    assert.equal(findLibTorch(entry, { ...env, L0SPARSE_PYTHON: python }, (l) => notes.push(l)), null);
    assert.match(notes[0], /not using the Python torch of L0SPARSE_PYTHON=.*torch2130-cu130.*needs LibTorch 2\.13\.0 \(torch2130-cpu\)/);
    fs.writeFileSync(path.join(torchDir, 'build-version'), '2.13.0+cpu\n');
    assert.equal(findLibTorch(entry, { ...env, L0SPARSE_PYTHON: python })?.source, 'python');
    const cached = fakeLibTorch(path.join(env.L0SPARSE_CACHE, 'libtorch', 'torch2130-cpu', 'libtorch'), '2.13.0+cpu');
    assert.equal(findLibTorch(entry, { ...env, L0SPARSE_PYTHON: python })?.root, cached);
  });

  it('installs a local archive into the cache, checking its SHA-256 and its version', async () => {
    const zip = path.join(tmp, 'lt.zip');
    const bytes = fakeArchive('2.13.0+cpu');
    fs.writeFileSync(zip, bytes);
    await assert.rejects(installLibTorch({ entry, baseUrl: 'http://unused', env, archive: zip, sha256: 'cd'.repeat(32) }),
      (e: Error) => e.message.includes(sha256(bytes)) && e.message.includes('L0SPARSE_LIBTORCH_SHA256'));
    const got = await installLibTorch({ entry, baseUrl: 'http://unused', env: { ...env, L0SPARSE_LIBTORCH_SHA256: sha256(bytes) }, archive: zip });
    assert.equal(got.root, path.join(env.L0SPARSE_CACHE, 'libtorch', 'torch2130-cpu', 'libtorch'));
    assert.equal(got.archiveSha256, sha256(bytes));
    assert.equal(findLibTorch(entry, env)?.source, 'cache');
    const wrong = path.join(tmp, 'wrong.zip');
    fs.writeFileSync(wrong, fakeArchive('2.12.0+cpu'));
    await assert.rejects(installLibTorch({ entry, baseUrl: 'http://unused', env, archive: wrong }), /holds LibTorch 2\.12\.0\+cpu \(torch2120-cpu\), not the 2\.13\.0/);
    assert.equal(findLibTorch(entry, env)?.version, '2.13.0+cpu', 'a refused archive leaves the cached LibTorch as it was');
  });

  it('downloads from a mirror only with a known SHA-256, and says what fixes a failure', async () => {
    const bytes = fakeArchive('2.13.0+cpu');
    const server = await startServer({ '/lt/cpu/libtorch-shared-with-deps-2.13.0%2Bcpu.zip': (_q, res) => sendBody(res, bytes) });
    try {
      const mirror = server.url('/lt');
      await assert.rejects(installLibTorch({ entry, baseUrl: 'http://unused', env, mirror }),
        (e: Error) => e instanceof SetupError && /no SHA-256 is pinned/.test(e.message) && e.message.includes('L0SPARSE_LIBTORCH_SHA256'));
      const got = await installLibTorch({ entry, baseUrl: 'http://unused', env: { ...env, L0SPARSE_LIBTORCH_MIRROR: mirror, L0SPARSE_LIBTORCH_SHA256: sha256(bytes) } });
      assert.equal(got.download?.bytes, bytes.length);
      assert.equal(got.source, 'download');
      assert.deepEqual(fs.readdirSync(path.join(env.L0SPARSE_CACHE, 'libtorch', 'downloads')), [], 'the archive is removed once unpacked');
      await assert.rejects(installLibTorch({ entry, baseUrl: 'http://unused', env, url: server.url('/nope.zip'), sha256: sha256(bytes), retries: 0 }),
        (e: Error) => /HTTP 404/.test(e.message) && /L0SPARSE_LIBTORCH_MIRROR/.test(e.message) && /npx l0sparse setup --archive/.test(e.message));
    } finally {
      await server.close();
    }
  });
});
