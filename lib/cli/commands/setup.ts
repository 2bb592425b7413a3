import type { Command } from 'commander';

/** `l0sparse setup`: fetch (or find) the LibTorch the prebuilt addon needs, into the per-user cache. */
export function register(program: Command): void {
  program.command('setup')
    .description('set up the LibTorch the prebuilt addon was built against (download once into ~/.cache/l0sparse or $L0SPARSE_CACHE, SHA-256 checked)')
    .option('--variant <cpu|cuda>', 'which build (default: $L0SPARSE_VARIANT, the npm config key l0sparse_variant, else cpu)')
    .option('--archive <zip>', 'a LibTorch zip already on disk (offline installs); default $L0SPARSE_LIBTORCH_ARCHIVE')
    .option('--mirror <base-url>', 'a mirror of download.pytorch.org/libtorch; default $L0SPARSE_LIBTORCH_MIRROR')
    .option('--url <url>', 'the archive\'s full URL; default $L0SPARSE_LIBTORCH_URL')
    .option('--sha256 <hex>', 'expected SHA-256 of the archive (default: the pinned one, or $L0SPARSE_LIBTORCH_SHA256)')
    .option('--force', 'fetch again even when a matching LibTorch is set up')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(async (o: { variant?: string; archive?: string; mirror?: string; url?: string; sha256?: string; force?: boolean; progress?: boolean; json?: boolean }) => {
      const { runSetup, parseVariant } = await import('../../setup');
      const result = await runSetup({
        variant: o.variant === undefined ? undefined : parseVariant(o.variant, '--variant'),
        archive: o.archive, mirror: o.mirror, url: o.url, sha256: o.sha256, force: o.force === true, progress: o.progress !== false,
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      process.stdout.write(`LibTorch  ${result.libtorch.version} (${result.tag}) at ${result.libtorch.root}${result.downloaded ? ', downloaded' : ''}\n`);
      process.stdout.write(`addon     ${result.binary ? `${result.binary.name} (${result.binary.addon})` : 'no binary package (a source build or `L0SPARSE_BUILD_FROM_SOURCE=1 npm rebuild l0sparse`)'}\n`);
    });
}
