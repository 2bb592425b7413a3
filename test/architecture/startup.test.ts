/**
 * What the CLI loads before a command runs. The chart renderer (@resvg/resvg-js, vega) is a native package with
 * per-platform builds: a command that never plots (`l0sparse info` on a platform without a prebuilt renderer,
 * the e2e test's platform-mismatch case) must not fail because registering the commands loaded it.
 */
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as path from 'path';

describe('cli start-up', () => {
  it('registering every command loads no chart renderer (plots are loaded by the commands that draw them)', () => {
    const main = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');
    const script = `require(${JSON.stringify(main)}).buildProgram();` +
      'process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => /[\\\\/](@resvg|vega[^\\\\/]*)[\\\\/]/.test(k))));';
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
    assert.deepEqual(loaded, []);
    // The check can fail: loading the plot module does load the renderer.
    const plot = path.resolve(__dirname, '..', '..', 'lib', 'plot', 'index.js');
    const withPlot = `require(${JSON.stringify(plot)});` +
      'process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => /[\\\\/](@resvg|vega[^\\\\/]*)[\\\\/]/.test(k))));';
    assert.ok((JSON.parse(execFileSync(process.execPath, ['-e', withPlot], { encoding: 'utf8' })) as string[]).length > 0);
  });
});
