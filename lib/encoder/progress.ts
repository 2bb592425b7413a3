import { Presets, SingleBar } from 'cli-progress';

/** A progress display that is a no-op when disabled, so callers never branch on it. */
export interface ProgressReporter {
  increment(amount?: number): void;
  stop(): void;
}

/**
 * A cli-progress bar on stderr for long work. It is shown only when `enabled` is not false and stderr is a
 * TTY, so logs and pipes never fill with bar redraws.
 */
export function startProgress(label: string, total: number, enabled?: boolean): ProgressReporter {
  if (enabled === false || !process.stderr.isTTY) return { increment: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} elapsed, eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 50,
  }, Presets.shades_classic);
  bar.start(total, 0);
  return {
    increment: (amount = 1) => bar.increment(amount),
    stop: () => bar.stop(),
  };
}
