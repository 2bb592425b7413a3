import { Presets, SingleBar } from 'cli-progress';

/** A progress display that is a no-op when disabled, so callers never branch on it. */
export interface ProgressReporter {
  increment(amount?: number): void;
  stop(): void;
}

export interface ProgressDisplayOptions {
  /** What is counted, shown in the rate ("docs" → "12.3 docs/s"). Default: a bare "/s". */
  unit?: string;
  /** Work already done before this run (a resumed job): the bar starts there and the rate counts only new work. */
  initial?: number;
}

/**
 * A cli-progress bar on stderr for long work, with the rate of this run and an ETA. It is shown only when
 * `enabled` is not false and stderr is a TTY, so logs and pipes never fill with bar redraws.
 */
export function startProgress(label: string, total: number, enabled?: boolean, options: ProgressDisplayOptions = {}): ProgressReporter {
  if (enabled === false || !process.stderr.isTTY) return { increment: () => undefined, stop: () => undefined };
  const unit = options.unit ? ` ${options.unit}` : '';
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}${unit}/s | {duration_formatted} elapsed, eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 50,
  }, Presets.shades_classic);
  const initial = options.initial ?? 0;
  const startedAt = process.hrtime.bigint();
  let done = initial;
  // The rate is computed here rather than read from cli-progress, whose ETA buffer only covers recent updates.
  const rate = (): string => {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    return seconds > 0 ? ((done - initial) / seconds).toFixed(1) : '0.0';
  };
  bar.start(total, initial, { rate: '0.0' });
  return {
    increment: (amount = 1) => {
      done += amount;
      bar.increment(amount, { rate: rate() });
    },
    stop: () => bar.stop(),
  };
}
