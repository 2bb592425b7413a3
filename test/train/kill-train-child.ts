/**
 * Child process of the kill -9 resume test: runs a training config (as `l0sparse train` does) and kills itself
 * with SIGKILL right after step N's update, before that step's checkpoint could be written — a crash at a
 * point the test can name, whatever the machine's load. Usage: node kill-train-child.js <config.json> <N>
 */
import * as fs from 'fs';
import * as path from 'path';

import { normalizeTrainConfig } from '../../lib/train/config';
import { runTraining } from '../../lib/train/run';

async function main(): Promise<void> {
  const [file, killAt] = process.argv.slice(2);
  const config = normalizeTrainConfig(JSON.parse(fs.readFileSync(file, 'utf8')), path.dirname(file));
  await runTraining(config, {
    progress: false,
    onStep: (m) => { if (m.step >= Number(killAt)) process.kill(process.pid, 'SIGKILL'); },
  });
  process.stdout.write('finished without being killed\n');
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
});
