/**
 * Download progress for the LibTorch fetch: on a terminal, the project's one progress display (lib/io/progress,
 * counted in MB, with rate and ETA); elsewhere (npm's install log, CI), where that display is silent, one line
 * per 10 % so logs stay short.
 */
import { type ProgressReporter, startProgress } from '../io/progress';

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
  let bar: ProgressReporter | null = null;
  let last = 0;
  const rate = (bytes: number) => bytes / Math.max((Date.now() - startedAt) / 1000, 1e-3);
  return {
    onStart(t) {
      total = t;
      startedAt = Date.now();
      nextDecile = 1;
      last = 0;
      if (!enabled) return;
      if (process.stderr.isTTY) bar = startProgress(label, total ? Math.ceil(total / 1e6) : undefined, true, { unit: 'MB' });
      else log(`${label}: ${total ? `${mb(total)} MB` : 'size unknown'}`);
    },
    onProgress(bytes) {
      last = bytes;
      if (!enabled) return;
      if (bar) {
        bar.update(Math.floor(bytes / 1e6));
      } else if (total && bytes >= (total * nextDecile) / 10) {
        const r = rate(bytes);
        log(`${label}: ${Math.floor((100 * bytes) / total)}% (${mb(bytes)} of ${mb(total)} MB, ${mb(r)} MB/s, eta ${Math.round((total - bytes) / r)} s)`);
        while (bytes >= (total * nextDecile) / 10) nextDecile++;
      }
    },
    stop() {
      bar?.stop();
      bar = null;
      if (enabled && last > 0) log(`${label}: ${mb(last)} MB in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    },
  };
}
