import type { Command } from 'commander';

import { cpuHasNativeBf16, gemmBackend } from '../../native/kernels';
import { loadNative, readTorchRecord } from '../../native/loader';

/** `l0sparse info`: which LibTorch and addon are in use. */
export function register(program: Command): void {
  program.command('info')
    .description('show the LibTorch, variant and threads the native addon uses')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const info = { record: readTorchRecord(), addon: loadNative().buildInfo(), gemm: gemmBackend(), cpuHasNativeBf16: cpuHasNativeBf16() };
      if (opts.json) process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      else {
        process.stdout.write(`LibTorch  ${info.record?.version} (${info.record?.variant}, ${info.record?.source}) at ${info.record?.root}\n`);
        process.stdout.write(`addon     torch ${info.addon.torchVersion}, cuda build ${info.addon.cuda}, cuda available ${info.addon.cudaAvailable}\n`);
        process.stdout.write(`threads   ${info.addon.numThreads} of ${info.addon.hardwareConcurrency} cores\n`);
        const g = info.gemm;
        process.stdout.write(`gemm      ${g.backend} (${g.reason}); CPU ${g.cpuVendor || 'unknown'}, native bf16 ${info.cpuHasNativeBf16}\n`);
      }
    });
}
