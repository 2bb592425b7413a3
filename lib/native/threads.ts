import { loadNative } from './loader';

/** Intra-op threads of every native call (default: all cores). */
export function setNumThreads(n: number): void {
  loadNative().setNumThreads(n);
}

export function getNumThreads(): number {
  return loadNative().getNumThreads();
}
