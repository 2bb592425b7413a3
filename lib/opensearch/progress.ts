/**
 * Progress on stderr with cli-progress, only when stderr is a terminal: logs and pipes get the final
 * report instead of a stream of redraws.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function createProgress(label: string, total: number | undefined, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream: process.stderr,
    format: total ? `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left` : `${label} {value}`,
    hideCursor: true,
    etaBuffer: 50,
  }, Presets.shades_classic);
  bar.start(total ?? 0, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}
