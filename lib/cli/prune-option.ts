/**
 * The one CLI spelling of pruning, `--prune <type:value>`, shared by encode, index, export and opensearch
 * ingest. `--prune-type` / `--prune-ratio` (the spelling export and ingest had first) stay accepted, hidden.
 */
import { type Command, Option } from 'commander';

import { parsePruneSpec, PRUNE_TYPES, type PruneSpec } from '../sparse/prune';

export const PRUNE_HELP = `prune each vector with OpenSearch's definitions: ${PRUNE_TYPES.map((t) => `${t}:<x>`).join(', ')} (x: k for top_k, ratio or threshold otherwise)`;

export function addPruneOptions(cmd: Command, help = PRUNE_HELP): Command {
  return cmd
    .option('--prune <type:value>', help)
    .addOption(new Option('--prune-type <t>', 'deprecated: use --prune <type:value>').hideHelp())
    .addOption(new Option('--prune-ratio <r>', 'deprecated: use --prune <type:value>').hideHelp());
}

/** The spec the options ask for, or null for none. Throws naming the flag when they are malformed or both spellings are used. */
export function pruneFromOptions(o: { prune?: string; pruneType?: string; pruneRatio?: string }): PruneSpec | null {
  const legacy = o.pruneType !== undefined || o.pruneRatio !== undefined;
  if (o.prune !== undefined && legacy) throw new Error('give either --prune <type:value> or --prune-type/--prune-ratio, not both');
  if (o.prune !== undefined) return parsePruneSpec(o.prune);
  if (!legacy || o.pruneType === 'none') return null;
  if (o.pruneType === undefined) throw new Error('--prune-ratio needs --prune-type (better: --prune <type:value>)');
  return parsePruneSpec(`${o.pruneType}:${o.pruneRatio ?? '0'}`);
}
