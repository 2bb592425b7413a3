import type { EncodeCorpusOptions } from '../../lib/encode';

/**
 * Settings of the sharded-encoding tests, their child rank and the CLI runs (SHARDED_CLI_ARGS says the
 * same): 60 documents (and one malformed line) -> 6 windows of 10 -> 2 batches of 5 each, so 2 ranks take 3 windows each.
 */
export const SHARDED_SETTINGS: Partial<EncodeCorpusOptions> = {
  batchSize: 5,
  windowSize: 10,
  // Pruned so that the JSONL output stays small (the random test model gives nearly dense vectors).
  prune: { type: 'top_k', value: 24 },
  // The test corpus has a malformed line: skipped lines must not shift the windows between ranks.
  onBadLine: 'skip',
  warn: () => undefined,
};

export const SHARDED_CLI_ARGS = ['--batch-size', '5', '--window', '10', '--prune', 'top_k:24', '--on-bad-line', 'skip'];
