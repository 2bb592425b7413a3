import { strict as assert } from 'assert';

import { getNumThreads, loadNative, readTorchRecord, setNumThreads } from '../../lib';

describe('native addon loading', () => {
  it('loads the addon built for the recorded LibTorch', () => {
    const record = readTorchRecord();
    assert.ok(record, '.deps/libtorch.json exists after set-up');
    const info = loadNative().buildInfo();
    assert.equal(info.torchVersion, record.version.split('+')[0]);
    assert.equal(info.cuda, record.variant === 'cuda');
  });

  it('sets intra-op threads from JS and defaults to all cores', () => {
    const before = getNumThreads();
    assert.equal(before, loadNative().buildInfo().hardwareConcurrency);
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    setNumThreads(before);
    assert.throws(() => setNumThreads(0), /integer in \[1, 1024\]/);
    assert.throws(() => setNumThreads('2' as unknown as number), /must be a number/);
  });
});
