export { loadNative, NativeLoadError, readTorchRecord } from './native/loader';
export type { NativeAddon, BuildInfo, TorchRecord } from './native/loader';
export { tensor } from './native/tensor';
export type { Tensor, DType, TypedData } from './native/tensor';
export { setNumThreads, getNumThreads } from './native/threads';
export { csrRow, csrRows, csrFromRows, validateCsr } from './sparse/csr';
export type { Csr } from './sparse/csr';
export { sparseHeadReference } from './ops/sparse-head';
export type { SparseHeadArgs, SparseHeadResult, ActivationName } from './ops/sparse-head';
