/**
 * The run folder remembers its config (train-config.json); resuming with a different one would silently change
 * the run. Keys that say how a run is watched rather than what it computes (UNPINNED_KEYS: the device, collapse
 * detection) are left out: a run may continue on another device, or past a collapse the user chose to ignore.
 */
import * as fs from 'fs';
import * as path from 'path';

import { writeFileAtomic } from '../io';
import { UNPINNED_KEYS, type TrainRunConfig } from './config';

/** The text train-config.json holds for `config`. */
export function pinnedConfigText(config: TrainRunConfig): string {
  const pinned: Record<string, unknown> = { ...config };
  for (const key of UNPINNED_KEYS) delete pinned[key];
  return JSON.stringify(pinned, null, 2) + '\n';
}

/** Writes train-config.json into a new run folder, or checks that an existing one holds the same config. */
export function pinConfig(config: TrainRunConfig): void {
  pinConfigFile(config.output, 'train-config.json', pinnedConfigText(config));
}

/**
 * Writes `text` (a run's config as JSON) to `name` in the run folder `output`, or — when the folder already has
 * one — checks that it is the same, naming every differing key. Shared by `train` and `pretrain`.
 */
export function pinConfigFile(output: string, name: string, text: string): void {
  fs.mkdirSync(output, { recursive: true });
  const file = path.join(output, name);
  if (fs.existsSync(file)) {
    const pinnedText = fs.readFileSync(file, 'utf8');
    if (pinnedText !== text) {
      const differences = configDifferences(parseOrNull(pinnedText), JSON.parse(text) as unknown);
      throw new Error(`${output} holds a run with a different configuration (${file}): ` +
        `${differences.length ? differences.join('; ') : 'the files differ'}. Use a new output folder, or set those keys to the pinned values ` +
        '(a folder pinned by an older version may lack keys added since: write their values into its ' + name + ')');
    }
    return;
  }
  writeFileAtomic(file, text);
}

function parseOrNull(text: string): unknown {
  try { return JSON.parse(text) as unknown; } catch { return null; }
}

const show = (v: unknown) => (v === undefined ? 'not set' : JSON.stringify(v));

/** Key paths whose values differ, as "key: pinned X, now Y" (at most 6, then a count). */
export function configDifferences(pinned: unknown, now: unknown, prefix = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(pinned) || !isObject(now)) {
    return JSON.stringify(pinned) === JSON.stringify(now) ? [] : [`${prefix || '(whole file)'}: pinned ${show(pinned)}, now ${show(now)}`];
  }
  const out: string[] = [];
  for (const key of [...new Set([...Object.keys(pinned), ...Object.keys(now)])]) {
    out.push(...configDifferences(pinned[key], now[key], prefix ? `${prefix}.${key}` : key));
  }
  if (prefix || out.length <= 6) return out;
  return [...out.slice(0, 6), `${out.length - 6} more`];
}
