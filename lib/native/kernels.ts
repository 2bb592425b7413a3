/**
 * Process-wide kernel choices of inference (native/ops/gemm_backend.h): which library runs the float32
 * GEMMs (MKL or oneDNN), and whether the CPU has native bfloat16 arithmetic (what `dtype: 'auto'` decides on).
 */
import { loadNative } from './loader';

export type GemmBackendName = 'auto' | 'mkl' | 'onednn';

export interface GemmBackendInfo {
  /** What was asked for: L0SPARSE_GEMM, setGemmBackend, or 'auto' by default. */
  requested: GemmBackendName;
  /** What runs the float32 GEMMs now. */
  backend: 'mkl' | 'onednn';
  /** Why this backend: 'forced', or the 'auto' rule (oneDNN on AMD CPUs, MKL elsewhere). */
  reason: string;
  onednnAvailable: boolean;
  cpuVendor: string;
}

declare module './loader' {
  interface NativeAddon {
    setGemmBackend(name: string): GemmBackendInfo;
    gemmBackend(): GemmBackendInfo;
    cpuHasNativeBf16(): boolean;
  }
}

const NAMES: readonly string[] = ['auto', 'mkl', 'onednn'];

/** Parses a backend name (CLI flag, environment), naming the accepted values on error. */
export function parseGemmBackend(value: string, what = 'GEMM backend'): GemmBackendName {
  if (!NAMES.includes(value)) throw new RangeError(`${what} must be 'auto', 'mkl' or 'onednn', got '${value}'`);
  return value as GemmBackendName;
}

/**
 * Sets the library that runs float32 inference GEMMs for the whole process ('mkl' = ATen's own, MKL on x86;
 * 'auto' = oneDNN on AMD CPUs, where MKL takes a slow path, MKL elsewhere: by CPU, not by timing, so every
 * process of a sharded or resumed encoding computes the same bits). The default is L0SPARSE_GEMM, else 'auto'.
 */
export function setGemmBackend(name: GemmBackendName): GemmBackendInfo {
  return loadNative().setGemmBackend(parseGemmBackend(name));
}

/** The backend in use (resolving the default on first call). */
export function gemmBackend(): GemmBackendInfo {
  return loadNative().gemmBackend();
}

/** True when the CPU computes bfloat16 natively (AVX512_BF16 / AMX_BF16 on x86, the BF16 extension on Arm). */
export function cpuHasNativeBf16(): boolean {
  return loadNative().cpuHasNativeBf16();
}
