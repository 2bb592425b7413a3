/**
 * Child process of napi-args.test.ts: runs every case of napi-cases.ts against the raw addon and writes one
 * JSON line per case to stdout (a "start" line first, written synchronously, so that a crash names the case
 * that caused it). Usage: node napi-child.js [scratch dir]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadNative } from '../../lib/native/loader';
import { Ctx, FIXTURE_MODEL, buildCases, csr } from './napi-cases';

const TIMEOUT_MS = 30000;

function line(o: unknown): void {
  fs.writeSync(1, JSON.stringify(o) + '\n');
}

function describe(e: unknown): { errorClass: string; isError: boolean; message: string } {
  const isError = e instanceof Error;
  return { errorClass: isError ? (e as Error).constructor.name : typeof e, isError,
    message: isError ? (e as Error).message : String(e) };
}

async function main(): Promise<void> {
  const tmp = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-napi-'));
  const native = loadNative() as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const loaded = await native.mlmLoad(FIXTURE_MODEL);
  const other = await native.mlmLoad(FIXTURE_MODEL);
  native.mlmDispose(other.handle);
  const trainer = native.trainerCreate(loaded.handle, { lr: 1e-3, lambda: 0.01 });
  const index = new native.SparseIndexNative(10);
  index.add(csr(), ['d0', 'd1']);
  await index.build();
  const ctx: Ctx = { native, model: loaded.handle, disposed: other.handle, trainer, index, tmp };

  const cases = buildCases();
  line({ total: cases.length, exports: Object.keys(native) });
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    line({ start: i });
    let outcome: string;
    let detail: ReturnType<typeof describe> | undefined;
    try {
      const r = c.run(ctx);
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('__timeout__')), TIMEOUT_MS); });
        try {
          await Promise.race([r, timeout]);
          outcome = 'resolved';
        } catch (e) {
          detail = describe(e);
          outcome = detail.message === '__timeout__' ? 'timeout' : 'rejected';
        } finally {
          clearTimeout(timer);
        }
      } else {
        outcome = 'returned';
      }
    } catch (e) {
      outcome = 'threw';
      detail = describe(e);
    }
    line({ done: i, fn: c.fn, name: c.name, outcome, ...detail });
  }

  // The process is still sound afterwards: a good encode and a good search work.
  const ok = await native.mlmEncode(ctx.model, {
    inputIds: Int32Array.from([101, 2000, 102, 0]), attentionMask: Int32Array.from([1, 1, 1, 0]),
    batchSize: 1, seqLen: 4, activation: 'l0',
  });
  const hits = await index.search(csr(), 1);
  line({ sane: ok.indptr.length === 2 && hits.docIndices.length === 2 });
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(3);
});
