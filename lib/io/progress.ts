/**
 * The one progress display of the project: a cli-progress bar on stderr for long work, with this run's rate
 * and an ETA. It is shown only when enabled and stderr is a TTY, so logs and pipes never fill with redraws;
 * disabled, it is a no-op, so callers never branch on it.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface ProgressReporter {
  /** Adds work done; `fields` updates the extra values shown (see ProgressDisplayOptions.fields). */
  increment(amount?: number, fields?: Record<string, string>): void;
  /** Sets the work done so far. */
  update(done: number, fields?: Record<string, string>): void;
  stop(): void;
}

export interface ProgressDisplayOptions {
  /** What is counted, shown in the rate ("docs" → "12.3 docs/s"). Default: a bare "/s". */
  unit?: string;
  /** Work already done before this run (a resumed job): the bar starts there and the rate counts only new work. */
  initial?: number;
  /** Extra values shown after the count, by name, with their first text (e.g. { loss: '-' } for training). */
  fields?: Record<string, string>;
}

/** `total` undefined: the amount of work is unknown, so the display is a counter with a rate and no ETA. */
export function startProgress(label: string, total: number | undefined, enabled?: boolean, options: ProgressDisplayOptions = {}): ProgressReporter {
  if (enabled === false || !process.stderr.isTTY) return { increment: () => undefined, update: () => undefined, stop: () => undefined };
  const unit = options.unit ? ` ${options.unit}` : '';
  const extra = Object.keys(options.fields ?? {}).map((name) => ` | ${name} {${name}}`).join('');
  const format = total !== undefined
    ? `${label} [{bar}] {percentage}% | {value}/{total}${extra} | {rate}${unit}/s | {duration_formatted} elapsed, eta {eta_formatted}`
    : `${label} {value}${extra} | {rate}${unit}/s | {duration_formatted} elapsed`;
  const bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, etaBuffer: 50 }, Presets.shades_classic);
  const initial = options.initial ?? 0;
  const startedAt = process.hrtime.bigint();
  let done = initial;
  // The rate is computed here rather than read from cli-progress, whose ETA buffer only covers recent updates.
  const rate = (): string => {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    return seconds > 0 ? ((done - initial) / seconds).toFixed(1) : '0.0';
  };
  bar.start(total ?? 0, initial, { rate: '0.0', ...options.fields });
  return {
    increment: (amount = 1, fields = {}) => {
      done += amount;
      bar.increment(amount, { rate: rate(), ...fields });
    },
    update: (value, fields = {}) => {
      done = value;
      bar.update(value, { rate: rate(), ...fields });
    },
    stop: () => bar.stop(),
  };
}
