import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NativeLoadError, preloadLibTorch } from '../../lib/native/loader';
import { findBinaryPackage, missingBinaryMessage } from '../../lib/setup/binary';

describe('setup/binary: the prebuilt addon of a user install', () => {
  let root: string;
  beforeEach(() => {
    // An installed l0sparse next to its optional binary package, as npm lays them out.
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'l0s-bin-'));
    root = path.join(project, 'node_modules', 'l0sparse');
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'package.json'), '{"name":"l0sparse","version":"0.1.0"}');
    fs.copyFileSync(path.resolve(__dirname, '..', '..', '..', 'assets', 'libtorch-archives.json'), path.join(root, 'assets', 'libtorch-archives.json'));
  });
  afterEach(() => fs.rmSync(path.dirname(path.dirname(root)), { recursive: true, force: true }));

  it('finds @l0sparse/linux-x64-cpu beside the package and reads its tag', () => {
    assert.equal(findBinaryPackage('cpu', root), null);
    const dir = path.join(path.dirname(root), '@l0sparse', 'linux-x64-cpu');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"@l0sparse/linux-x64-cpu","version":"0.1.0"}');
    fs.writeFileSync(path.join(dir, 'l0sparse.node'), '');
    assert.equal(findBinaryPackage('cpu', root), null, 'no metadata: not a usable binary package');
    fs.writeFileSync(path.join(dir, 'l0sparse.json'), '{"tag":"torch2130-cpu","variant":"cpu","torch":"2.13.0"}');
    const found = findBinaryPackage('cpu', root);
    assert.equal(found?.tag, 'torch2130-cpu');
    assert.equal(fs.realpathSync(found!.addon), fs.realpathSync(path.join(dir, 'l0sparse.node')));
    assert.equal(findBinaryPackage('cuda', root), null);
  });

  it('says how to get an addon when the binary package is missing', () => {
    const msg = missingBinaryMessage('cuda', root);
    assert.match(msg, /L0SPARSE_BUILD_FROM_SOURCE=1 npm rebuild l0sparse/);
    assert.match(msg, process.platform === 'linux' && process.arch === 'x64' ? /@l0sparse\/linux-x64-cuda13 is not installed/ : /no prebuilt binary exists/);
  });

  it('refuses to preload a LibTorch folder without libtorch.so, naming the fix', () => {
    fs.mkdirSync(path.join(root, 'fake-libtorch', 'lib'), { recursive: true });
    assert.throws(() => preloadLibTorch(path.join(root, 'fake-libtorch')),
      (e: Error) => e instanceof NativeLoadError && /has no libtorch\.so/.test(e.message) && /npx l0sparse setup --force/.test(e.message));
  });
});
