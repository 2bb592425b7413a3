import type { Command } from 'commander';

import { cpuHasNativeBf16, gemmBackend } from '../../native/kernels';
import { loadNative, nativeOrigin, readTorchRecord } from '../../native/loader';

/** `l0sparse info`: which LibTorch and addon are in use. */
export function register(program: Command): void {
  program.command('info')
    .description('show the LibTorch, variant and threads the native addon uses')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const addon = loadNative().buildInfo();
      const info = { record: readTorchRecord(), addon, origin: nativeOrigin(), gemm: gemmBackend(), cpuHasNativeBf16: cpuHasNativeBf16() };
      if (opts.json) process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      else {
        const o = info.origin;
        process.stdout.write(`LibTorch  ${addon.torchVersion} (${addon.cuda ? 'cuda' : 'cpu'}) from ${o?.libtorch ?? info.record?.root ?? 'the addon\'s RUNPATH'} (${o?.libtorchSource ?? info.record?.source ?? 'unrecorded'})\n`);
        process.stdout.write(`binary    ${o?.addon} (${o?.from})\n`);
        process.stdout.write(`addon     torch ${info.addon.torchVersion}, cuda build ${info.addon.cuda}, cuda available ${info.addon.cudaAvailable}\n`);
        process.stdout.write(`threads   ${info.addon.numThreads} of ${info.addon.hardwareConcurrency} cores\n`);
        const g = info.gemm;
        process.stdout.write(`gemm      ${g.backend} (${g.reason}); CPU ${g.cpuVendor || 'unknown'}, native bf16 ${info.cpuHasNativeBf16}\n`);
      }
    });
}
