/**
 * Distribution on users' machines: the prebuilt binary package, the pinned LibTorch in the per-user cache,
 * and the download/unzip machinery that fetches it (see docs/ARCHITECTURE.md, "Distribution").
 */
export { runSetup, type SetupOptions, type SetupResult } from './setup';
export {
  SetupError, type Variant, type ArchiveEntry, type LibTorchInfo, readManifest, requestedVariant, parseVariant, findLibTorch,
  installLibTorch, libtorchCacheDir, archiveUrl,
} from './libtorch';
export { findBinaryPackage, missingBinaryMessage, platformKey, type BinaryPackage } from './binary';
export { downloadFile, fileSha256, DownloadError, type DownloadOptions, type DownloadResult } from './download';
export { extractZip } from './unzip';
export { proxyFor, bypassesProxy } from './proxy';
export { cacheDir, packageRoot, isDevelopmentClone } from './paths';
