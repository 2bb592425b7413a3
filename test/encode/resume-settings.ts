import type { EncodeCorpusOptions } from '../../lib/encode';

/** Settings shared by the resume tests and their child process: 60 documents -> windows of 20 -> 4 batches of 5 each. */
export const RESUME_SETTINGS: Partial<EncodeCorpusOptions> = {
  batchSize: 5,
  windowSize: 20,
  // Pruned so that the JSONL output stays small (the random test model gives nearly dense vectors).
  prune: { type: 'top_k', value: 24 },
};
