import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
  AtomicLineWriter, partialDirFor, replaceDir, replacedDirFor, tempOwnerPid, tempPathFor, withAtomicDir, withAtomicPath,
  writeFileAtomic,
} from '../../lib/io';

// Every public writer of lib/io: its temp must carry a name the stale-temp sweeper recognises as this process's
// temp of the target (an unrecognised one would stay forever after a kill), and a failed write must leave no
// temp behind and the previous version in place.
describe('io: atomic writers name their temps for the sweeper and leave none on failure', () => {
  let dir: string;
  // The fs module object itself (the `import * as` namespace is read-only); lib/ reads its renameSync live.
  const nodeFs = require('fs') as { renameSync: typeof fs.renameSync };
  const realRename = fs.renameSync;
  const setRename = (f: typeof fs.renameSync) => { nodeFs.renameSync = f; };
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-io-')); });
  afterEach(() => {
    setRename(realRename);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Makes every rename fail (after recording its source), as a full disk or a permission change would. */
  const failRenames = (): string[] => {
    const sources: string[] = [];
    setRename(((from: fs.PathLike) => {
      sources.push(String(from));
      throw Object.assign(new Error('injected rename failure'), { code: 'EIO' });
    }) as typeof fs.renameSync);
    return sources;
  };
  const recognised = (tmp: string, target: string) => {
    assert.equal(path.dirname(tmp), path.dirname(target), 'the temp is beside its target');
    assert.equal(tempOwnerPid(path.basename(tmp), path.basename(target)), process.pid, path.basename(tmp));
  };

  it('tempPathFor, partialDirFor and replacedDirFor make names the sweeper recognises, unique per call', () => {
    const target = path.join(dir, 'out.jsonl');
    const a = tempPathFor(target);
    const b = tempPathFor(target);
    assert.notEqual(a, b);
    for (const p of [a, b, partialDirFor(target), replacedDirFor(target)]) recognised(p, target);
  });

  it('writeFileAtomic: a failing write leaves no temp and the old content; its temp is recognised', () => {
    const target = path.join(dir, 'state.json');
    writeFileAtomic(target, 'old');
    const sources = failRenames();
    assert.throws(() => writeFileAtomic(target, 'new'), /injected rename failure/);
    setRename(realRename);
    assert.equal(sources.length, 1);
    recognised(sources[0], target);
    assert.deepEqual(fs.readdirSync(dir), ['state.json']);
    assert.equal(fs.readFileSync(target, 'utf8'), 'old');
  });

  it('writeFileAtomic creates a missing parent folder', () => {
    const target = path.join(dir, 'a', 'b', 'x.txt');
    writeFileAtomic(target, Buffer.from('x'));
    assert.equal(fs.readFileSync(target, 'utf8'), 'x');
  });

  it('withAtomicPath: the producer gets a recognised temp; a failing producer or rename leaves none', () => {
    const target = path.join(dir, 'tokenizer.json');
    let seen = '';
    withAtomicPath(target, (tmp) => { seen = tmp; fs.writeFileSync(tmp, 'v1'); });
    recognised(seen, target);
    assert.throws(() => withAtomicPath(target, (tmp) => { fs.writeFileSync(tmp, 'half'); throw new Error('producer failed'); }), /producer failed/);
    assert.deepEqual(fs.readdirSync(dir), ['tokenizer.json']);
    failRenames();
    assert.throws(() => withAtomicPath(target, (tmp) => fs.writeFileSync(tmp, 'v2')), /injected rename failure/);
    setRename(realRename);
    assert.deepEqual(fs.readdirSync(dir), ['tokenizer.json']);
    assert.equal(fs.readFileSync(target, 'utf8'), 'v1');
  });

  it('AtomicLineWriter: its temp is recognised; abort and a failing commit leave no temp', async () => {
    const target = path.join(dir, 'run.trec');
    const w = new AtomicLineWriter(target);
    recognised(w.tempPath, target);
    await w.writeLine('a');
    await w.commit();
    assert.equal(fs.readFileSync(target, 'utf8'), 'a\n');

    const aborted = new AtomicLineWriter(target);
    await aborted.writeLine('b');
    await aborted.abort();
    assert.deepEqual(fs.readdirSync(dir), ['run.trec']);

    const failing = new AtomicLineWriter(target);
    await failing.writeLine('c');
    failRenames();
    await assert.rejects(failing.commit(), /injected rename failure/);
    setRename(realRename);
    assert.deepEqual(fs.readdirSync(dir), ['run.trec']);
    assert.equal(fs.readFileSync(target, 'utf8'), 'a\n');
  });

  it('withAtomicDir: builds in a recognised partial folder, replaces an existing folder, a failing build leaves no partial', async () => {
    const target = path.join(dir, 'model');
    let seen = '';
    await withAtomicDir(target, (tmp) => { seen = tmp; fs.writeFileSync(path.join(tmp, 'v'), '1'); });
    recognised(seen, target);
    await withAtomicDir(target, (tmp) => { fs.writeFileSync(path.join(tmp, 'v'), '2'); });
    assert.deepEqual(fs.readdirSync(dir), ['model']);
    assert.deepEqual(fs.readdirSync(target), ['v']);
    assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
    await assert.rejects(withAtomicDir(target, async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'v'), 'half');
      throw new Error('build failed');
    }), /build failed/);
    assert.deepEqual(fs.readdirSync(dir), ['model']);
    assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), '2');
  });

  it('replaceDir: the old folder goes aside under a recognised name and comes back when the swap fails', () => {
    const target = path.join(dir, 'scifact');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'v'), 'old');
    const src = path.join(dir, 'new');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'v'), 'new');
    const sources: string[] = [];
    setRename(((from: fs.PathLike, to: fs.PathLike) => {
      sources.push(String(from));
      if (String(from) === src) throw Object.assign(new Error('injected rename failure'), { code: 'EIO' });
      realRename(from, to);
    }) as typeof fs.renameSync);
    assert.throws(() => replaceDir(src, target), /injected rename failure/);
    setRename(realRename);
    assert.equal(sources[0], target);
    assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), 'old', 'the old folder is back');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['new', 'scifact']);
    replaceDir(src, target);
    assert.equal(fs.readFileSync(path.join(target, 'v'), 'utf8'), 'new');
    assert.deepEqual(fs.readdirSync(dir), ['scifact']);
    replaceDir(fs.mkdirSync(path.join(dir, 'first'), { recursive: true })!, path.join(dir, 'absent'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['absent', 'scifact']);
  });
});
