/**
 * Which rank this process is, from the variables torchrun and lib/launch/local-launch.ts set: RANK and
 * WORLD_SIZE (global), LOCAL_RANK and LOCAL_WORLD_SIZE (on this machine). Work that needs no rendezvous
 * (sharded corpus encoding) reads only these; training also needs MASTER_ADDR / MASTER_PORT
 * (lib/train/distributed.ts).
 */
import * as os from 'os';

export interface RankEnv {
  rank: number;
  worldSize: number;
  /** Rank among the processes on this machine; RANK when LOCAL_RANK is unset. */
  localRank: number;
  /** Processes on this machine; 1 when LOCAL_WORLD_SIZE is unset (one rank per machine). */
  localWorldSize: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}='${v}' must be an integer >= ${min}`);
  return n;
}

/** This process's rank; null when WORLD_SIZE is unset or 1 (a single process). */
export function rankFromEnv(env: NodeJS.ProcessEnv = process.env): RankEnv | null {
  const worldSize = envInt(env, 'WORLD_SIZE', 1);
  if (worldSize === undefined || worldSize === 1) return null;
  const rank = envInt(env, 'RANK', 0);
  if (rank === undefined) throw new Error(`WORLD_SIZE=${worldSize} is set but RANK is not`);
  if (rank >= worldSize) throw new Error(`RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  const localWorldSize = envInt(env, 'LOCAL_WORLD_SIZE', 1) ?? 1;
  const localRank = envInt(env, 'LOCAL_RANK', 0) ?? rank;
  return { rank, worldSize, localRank, localWorldSize };
}

/** Native threads for one of `localWorldSize` ranks sharing this machine's cores: at least 1. */
export function threadsPerLocalRank(localWorldSize: number, cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, localWorldSize)));
}
