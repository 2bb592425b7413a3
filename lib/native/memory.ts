/**
 * The native CPU memory cache (native/runtime/caching_cpu_allocator.h): tensor blocks of 1 MiB and more are
 * kept mapped after use and reused for the next tensor of about the same size, so repeated training steps
 * neither fault pages in again nor fragment the heap. Mapped bytes never exceed the high-water mark of bytes
 * in use, with any number of allocating threads (a miss reserves its bytes under the allocator's lock before
 * mapping). Set L0SPARSE_CPU_ALLOCATOR=default before loading to use LibTorch's allocator instead.
 */
import { loadNative } from './loader';

export interface CpuMemoryStats {
  /** Large blocks held by live tensors. */
  inUseBytes: number;
  /** Large blocks mapped and free for reuse. */
  cachedBytes: number;
  peakInUseBytes: number;
  /** Cache misses (new mappings), hits, and cached blocks given back to the OS. */
  maps: number;
  reuses: number;
  unmaps: number;
}

declare module './loader' {
  interface NativeAddon {
    cpuMemoryStats(): CpuMemoryStats | null;
    releaseCachedCpuMemory(): number;
  }
}

/** Null when the cache is disabled (L0SPARSE_CPU_ALLOCATOR=default). */
export function cpuMemoryStats(): CpuMemoryStats | null {
  return loadNative().cpuMemoryStats();
}

/** Gives every cached block back to the OS (e.g. after training, before a long idle phase); returns the bytes. */
export function releaseCachedCpuMemory(): number {
  return loadNative().releaseCachedCpuMemory();
}
