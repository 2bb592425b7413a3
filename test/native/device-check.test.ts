import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

// The GPU checks of the model and trainer (scripts/gpu-check.sh steps 4-5) run only where a GPU is lent; here
// they run with --device cpu (the CPU against itself, where every check must pass exactly), so that the scripts
// and the native program keep working between GPU runs.

const ROOT = path.resolve(__dirname, '..', '..', '..');

function passLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('PASS '));
}

describe('device checks (scripts/gpu-check.sh, steps 4-5) on the CPU', function () {
  this.timeout(120000);

  it('the shell scripts parse', () => {
    for (const script of ['scripts/gpu-check.sh', 'scripts/device-check.sh']) {
      const r = spawnSync('bash', ['-n', path.join(ROOT, script)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${script}: ${r.stderr}`);
    }
  });

  it('scripts/device-check.js --device cpu passes every check', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'device-check.js'), '--device', 'cpu'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(passLines(r.stdout).length, 4, r.stdout);
    assert.doesNotMatch(r.stdout, /^FAIL/m);
  });

  it('l0sparse_device_check --device cpu passes every check (when the native tests were built)', function () {
    const bin = path.resolve(ROOT, process.env.L0SPARSE_BUILD_DIR ?? 'build-cmake', 'l0sparse_device_check');
    if (!fs.existsSync(bin)) { console.log(`      skipped: ${bin} not built (node scripts/test-native.js builds it)`); this.skip(); }
    const r = spawnSync(bin, ['--device', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(passLines(r.stdout).length, 10, r.stdout);
    const gpu = spawnSync(bin, ['--device', 'gpu'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(gpu.status, 1);
    assert.match(gpu.stdout, /FAIL device gpu: unknown device 'gpu'/);
  });
});
