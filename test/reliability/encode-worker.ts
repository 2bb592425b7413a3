/**
 * worker_threads body for concurrency.test.ts: loads the addon and its own copy of the fixture model in this
 * thread, encodes the batch it is given `repeat` times and posts the last CSR (and whether all were equal).
 */
import { parentPort, workerData } from 'worker_threads';

import { NativeMlmModel } from '../../lib/model/native-model';

interface Job { modelDir: string; inputIds: Int32Array; attentionMask: Int32Array; batchSize: number; seqLen: number; repeat: number }

async function main(): Promise<void> {
  const job = workerData as Job;
  const model = await NativeMlmModel.load(job.modelDir);
  let first: string | null = null;
  let allEqual = true;
  let last = null;
  for (let i = 0; i < job.repeat; i++) {
    last = await model.encode(job.inputIds, job.attentionMask, job.batchSize, job.seqLen, { activation: 'l0' });
    const key = `${Array.from(last.indptr)}|${Array.from(last.indices)}|${Array.from(last.values)}`;
    if (first === null) first = key;
    else if (key !== first) allEqual = false;
  }
  model.dispose();
  parentPort!.postMessage({ csr: last, allEqual });
}

main().catch((e: Error) => parentPort!.postMessage({ error: e.message }));
