/**
 * Child process of the resume test: starts (or resumes) a corpus encoding and kills itself with SIGKILL
 * right after batch N is committed, while the next batch is being encoded natively — a crash with work in
 * flight, at a point the test can reproduce. Usage: node kill-child.js <model dir> <corpus> <out.csr> <out.jsonl> <N>
 */
import { encodeCorpus } from '../../lib/encode';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { RESUME_SETTINGS } from './resume-settings';

async function main(): Promise<void> {
  const [modelDir, corpus, csr, jsonl, killAfter] = process.argv.slice(2);
  const encoder = await SparseEncoder.load(modelDir);
  await encodeCorpus(encoder, corpus, {
    ...RESUME_SETTINGS, outputs: { csr, jsonl }, mode: 'resume', progress: false,
    onBatch: (state) => { if (state.batches >= Number(killAfter)) process.kill(process.pid, 'SIGKILL'); },
  });
  process.stdout.write('finished without being killed\n');
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
});
