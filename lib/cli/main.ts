#!/usr/bin/env node
/**
 * l0sparse CLI. Each command is a thin file in ./commands exporting `register(program)`; they are
 * discovered at start-up so commands can be added without touching this file.
 */
import * as fs from 'fs';
import * as path from 'path';

import { Command } from 'commander';

export function buildProgram(): Command {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  const program = new Command('l0sparse')
    .description('Train and run inference-free learned sparse retrievers with l0 sparsification')
    .version(pkg.version)
    .option('--threads <n>', 'intra-op threads of native calls (default: all cores)')
    .option('--gemm <auto|mkl|onednn>', 'library for float32 inference GEMMs (default: L0SPARSE_GEMM, else auto = the faster one measured here)')
    .showHelpAfterError();
  program.hook('preAction', (cmd) => {
    const threads = cmd.opts().threads as string | undefined;
    if (threads !== undefined) {
      const n = Number(threads);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a positive integer, got '${threads}'`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('../native/threads') as typeof import('../native/threads')).setNumThreads(n);
    }
    const gemm = cmd.opts().gemm as string | undefined;
    if (gemm !== undefined) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const kernels = require('../native/kernels') as typeof import('../native/kernels');
      kernels.setGemmBackend(kernels.parseGemmBackend(gemm, '--gemm'));
    }
  });
  const dir = path.join(__dirname, 'commands');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, file)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  return program;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`l0sparse: ${e.message.replace(/^l0sparse: /, '')}\n`);  // loader messages carry the prefix already
    process.exitCode = 1;
  });
}
