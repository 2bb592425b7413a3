import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { extractZip } from '../../lib/setup/unzip';
import { buildZip } from './zip-writer';

describe('setup/unzip: zip extraction', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0s-unzip-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const write = (name: string, entries: Parameters<typeof buildZip>[0]) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, buildZip(entries));
    return file;
  };

  it('extracts files, folders, modes and in-tree symlinks', async () => {
    const zip = write('ok.zip', [
      { name: 'libtorch/' },
      { name: 'libtorch/lib/libc10.so', data: 'ELF-ish', mode: 0o100755 },
      { name: 'libtorch/build-version', data: '2.13.0+cpu\n' },
      { name: 'libtorch/lib/libc10.so.2', data: 'libc10.so', mode: 0o120777 },
    ]);
    const dest = path.join(tmp, 'out');
    assert.equal(await extractZip(zip, dest), 3);
    assert.equal(fs.readFileSync(path.join(dest, 'libtorch', 'build-version'), 'utf8'), '2.13.0+cpu\n');
    assert.equal(fs.statSync(path.join(dest, 'libtorch', 'lib', 'libc10.so')).mode & 0o777, 0o755);
    assert.equal(fs.readlinkSync(path.join(dest, 'libtorch', 'lib', 'libc10.so.2')), 'libc10.so');
    assert.equal(fs.readFileSync(path.join(dest, 'libtorch', 'lib', 'libc10.so.2'), 'utf8'), 'ELF-ish');
  });

  for (const [what, entries] of [
    ['a ../ name', [{ name: 'ok/../../evil.txt', data: 'x' }]],
    ['an absolute name', [{ name: '/tmp/l0s-evil.txt', data: 'x' }]],
    ['a symlink out of the folder', [{ name: 'link', data: '../../etc', mode: 0o120777 }]],
    ['an absolute symlink', [{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]],
  ] as const) {
    it(`refuses ${what} and writes nothing outside the destination`, async () => {
      const zip = write('evil.zip', [...entries]);
      const dest = path.join(tmp, 'a', 'b');
      fs.mkdirSync(dest, { recursive: true });
      const before = fs.readdirSync(tmp).sort();
      await assert.rejects(extractZip(zip, dest), /outside|absolute|invalid relative path|relative/);
      assert.deepEqual(fs.readdirSync(tmp).sort(), before);
      assert.ok(!fs.existsSync(path.join(tmp, 'a', 'evil.txt')) && !fs.existsSync(path.join(tmp, 'evil.txt')));
      assert.ok(!fs.existsSync('/tmp/l0s-evil.txt'));
    });
  }

  it('names the file when it is not a zip', async () => {
    const bad = path.join(tmp, 'bad.zip');
    fs.writeFileSync(bad, 'not a zip at all');
    await assert.rejects(extractZip(bad, path.join(tmp, 'o')), (e: Error) => e.message.includes(bad) && /not a readable zip/.test(e.message));
  });
});
