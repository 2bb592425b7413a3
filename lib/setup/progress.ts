/**
 * Download progress for the LibTorch fetch: a cli-progress bar (MB, rate, ETA) on a terminal; elsewhere (npm's
 * install log, CI) one line per 10 % so logs stay short.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface ByteProgress {
  onStart(total: number | null): void;
  onProgress(bytes: number): void;
  stop(): void;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export function byteProgress(label: string, log: (line: string) => void, enabled = true): ByteProgress {
  let total: number | null = null;
  let startedAt = 0;
  let nextDecile = 1;
  let bar: SingleBar | null = null;
  let last = 0;
  const rate = (bytes: number) => bytes / Math.max((Date.now() - startedAt) / 1000, 1e-3);
  return {
    onStart(t) {
      total = t;
      startedAt = Date.now();
      nextDecile = 1;
      last = 0;
      if (!enabled) return;
      if (process.stderr.isTTY && total) {
        bar = new SingleBar({
          format: `${label} [{bar}] {percentage}% | {done}/{all} MB | {speed} MB/s | eta {eta_formatted}`,
          stream: process.stderr, hideCursor: true, etaBuffer: 200,
        }, Presets.shades_classic);
        bar.start(total, 0, { done: '0.0', all: mb(total), speed: '0.0' });
      } else {
        log(`${label}: ${total ? `${mb(total)} MB` : 'size unknown'}`);
      }
    },
    onProgress(bytes) {
      last = bytes;
      if (!enabled) return;
      if (bar) {
        bar.update(bytes, { done: mb(bytes), speed: mb(rate(bytes)) });
      } else if (total && bytes >= (total * nextDecile) / 10) {
        const r = rate(bytes);
        log(`${label}: ${Math.floor((100 * bytes) / total)}% (${mb(bytes)} of ${mb(total)} MB, ${mb(r)} MB/s, eta ${Math.round((total - bytes) / r)} s)`);
        while (bytes >= (total * nextDecile) / 10) nextDecile++;
      }
    },
    stop() {
      if (bar) bar.stop();
      bar = null;
      if (enabled && last > 0) log(`${label}: ${mb(last)} MB in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    },
  };
}
