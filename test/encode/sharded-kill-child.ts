/**
 * A rank of the sharded-encoding test, started by launchLocal (RANK / WORLD_SIZE in the environment): runs
 * (or resumes) its shard like `l0sparse encode` does, and the rank named on the command line kills itself
 * with SIGKILL right after its batch N is committed, while its next batch is being encoded — a rank that dies
 * mid-run with work in flight. Usage: node sharded-kill-child.js <model dir> <corpus> <out.csr> <out.jsonl> <rank to kill> <N>
 */
import { encodeCorpusSharded } from '../../lib/encode';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { exitWithLauncher } from '../../lib/launch/local-launch';
import { rankFromEnv } from '../../lib/launch/rank-env';
import { setNumThreads } from '../../lib/native/threads';
import { SHARDED_SETTINGS } from './sharded-settings';

async function main(): Promise<void> {
  exitWithLauncher();
  const [modelDir, corpus, csr, jsonl, killRank, killAfter] = process.argv.slice(2);
  const rank = rankFromEnv();
  if (!rank) throw new Error('start this script with launchLocal (RANK and WORLD_SIZE unset)');
  setNumThreads(1);  // as the test's one-process reference: bit-identical vectors
  const encoder = await SparseEncoder.load(modelDir);
  await encodeCorpusSharded(encoder, corpus, {
    ...SHARDED_SETTINGS, outputs: { csr, jsonl }, mode: 'resume', progress: false, shard: { rank: rank.rank, count: rank.worldSize },
    onBatch: (state) => { if (rank.rank === Number(killRank) && state.batches >= Number(killAfter)) process.kill(process.pid, 'SIGKILL'); },
  });
}

main().catch((e: Error) => {
  process.stderr.write(`l0sparse: ${e.message}\n`);
  process.exitCode = 1;
});
