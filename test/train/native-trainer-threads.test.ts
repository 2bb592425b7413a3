import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { getNumThreads, setNumThreads } from '../../lib';
import { NativeMlmModel } from '../../lib/model/native-model';
import { NativeTrainer } from '../../lib/train/native-trainer';
import { distilbertCopy, fixtureBatch, readTrainFixture, tempDir, FIXTURES } from './native-trainer-fixture';

// LibTorch gives each thread its intra-op thread count at that thread's first parallel region; libuv's pool
// threads run the steps, so a later setNumThreads() reached them only because every native call re-applies it.
describe('train: setNumThreads holds for steps on the worker pool', function () {
  this.timeout(120000);
  let work: string;
  before(function () {
    if (!fs.existsSync(path.join(FIXTURES, 'train', 'st-splade-loss.json'))) this.skip();
    work = tempDir('threads');
  });
  after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

  it('each step reports the thread count set just before it', async () => {
    const fx = readTrainFixture();
    const model = await NativeMlmModel.load(distilbertCopy(path.join(work, 'model')));
    const before = getNumThreads();
    try {
      const trainer = NativeTrainer.create(model, { lr: 1e-4, warmupSteps: 0, lambdaWarmup: 0, lambda: 0.01 });
      for (const n of [1, 2, 1, 3, 2, 1, 2]) {
        setNumThreads(n);
        const m = await trainer.trainStep(fixtureBatch(fx));
        assert.equal(m.threads, n, `step ${m.step} ran with ${m.threads} threads after setNumThreads(${n})`);
      }
    } finally {
      setNumThreads(before);
      model.dispose();
    }
  });
});
