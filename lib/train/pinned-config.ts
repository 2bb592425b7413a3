/**
 * The run folder remembers its config (train-config.json); resuming with a different one would silently change
 * the run. Keys that say how a run is watched rather than what it computes (UNPINNED_KEYS: the device, collapse
 * detection) are left out: a run may continue on another device, or past a collapse the user chose to ignore.
 */
import * as fs from 'fs';
import * as path from 'path';

import { UNPINNED_KEYS, type TrainRunConfig } from './config';

/** The text train-config.json holds for `config`. */
export function pinnedConfigText(config: TrainRunConfig): string {
  const pinned: Record<string, unknown> = { ...config };
  for (const key of UNPINNED_KEYS) delete pinned[key];
  return JSON.stringify(pinned, null, 2) + '\n';
}

/** Writes train-config.json into a new run folder, or checks that an existing one holds the same config. */
export function pinConfig(config: TrainRunConfig): void {
  fs.mkdirSync(config.output, { recursive: true });
  const file = path.join(config.output, 'train-config.json');
  const text = pinnedConfigText(config);
  if (fs.existsSync(file)) {
    if (fs.readFileSync(file, 'utf8') !== text) {
      throw new Error(`${config.output} holds a run with a different configuration (${file}); use a new output folder or restore that config`);
    }
    return;
  }
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}
