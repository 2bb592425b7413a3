/**
 * Data-parallel training across processes (docs/DISTRIBUTED.md). A process joins a c10d process group
 * (TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, Gloo collectives); every NativeTrainer created afterwards
 * in that process computes the loss over the global batch and sums gradients over ranks, so N processes on
 * contiguous shards of each step's batch reach the parameters of one process on the whole batch.
 */
import { callAsync, loadNative } from '../native/loader';

export interface DistributedEnv {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Rendezvous and every collective fail after this long (a dead or stuck rank). Default 10 minutes. */
  timeoutMs?: number;
}

interface NativeGroupOptions extends DistributedEnv {
  bucketBytes?: number;
}

declare module '../native/loader' {
  interface NativeAddon {
    processGroupInit(opts: NativeGroupOptions): Promise<{ rank: number; worldSize: number }>;
    processGroupBarrier(): Promise<void>;
    processGroupAllReduce(values: Float64Array): Promise<Float64Array>;
    processGroupDestroy(): void;
  }
}

function envInt(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`distributed: the environment variable ${name} is not set`);
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`distributed: ${name}='${v}' must be an integer >= ${min}`);
  return n;
}

/**
 * The group this process belongs to, from MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK (as torchrun sets
 * them; L0SPARSE_DIST_TIMEOUT_MS optional). Null when WORLD_SIZE is unset or 1: a single process.
 */
export function distributedFromEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv | null {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE === '') return null;
  const worldSize = envInt(env, 'WORLD_SIZE', 1);
  if (worldSize === 1) return null;
  const rank = envInt(env, 'RANK', 0);
  if (rank >= worldSize) throw new Error(`distributed: RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  const masterAddr = env.MASTER_ADDR;
  if (!masterAddr) throw new Error('distributed: the environment variable MASTER_ADDR is not set');
  const masterPort = envInt(env, 'MASTER_PORT', 1);
  if (masterPort > 65535) throw new Error(`distributed: MASTER_PORT=${masterPort} is not a TCP port`);
  const timeoutMs = env.L0SPARSE_DIST_TIMEOUT_MS ? envInt(env, 'L0SPARSE_DIST_TIMEOUT_MS', 1) : undefined;
  return { rank, worldSize, masterAddr, masterPort, timeoutMs };
}

/** This process's membership of a process group (one per process). */
export class ProcessGroup {
  private constructor(readonly rank: number, readonly worldSize: number) {}

  /** Joins the group; resolves once every rank has arrived (rejects after the timeout). */
  static async init(env: DistributedEnv, opts: { bucketBytes?: number } = {}): Promise<ProcessGroup> {
    const args: NativeGroupOptions = { ...env, ...opts };
    if (args.timeoutMs === undefined) delete args.timeoutMs;
    if (args.bucketBytes === undefined) delete args.bucketBytes;
    const r = await callAsync((n) => n.processGroupInit(args));
    return new ProcessGroup(r.rank, r.worldSize);
  }

  get isMain(): boolean {
    return this.rank === 0;
  }

  barrier(): Promise<void> {
    return callAsync((n) => n.processGroupBarrier());
  }

  /** Element-wise sum over ranks. */
  async allReduceSum(values: number[]): Promise<number[]> {
    return Array.from(await callAsync((n) => n.processGroupAllReduce(Float64Array.from(values))));
  }

  /** Leaves the group: trainers created afterwards are single-process again. */
  destroy(): void {
    loadNative().processGroupDestroy();
  }
}

/** The contiguous slice [start, end) of `count` items that rank `rank` of `worldSize` takes. */
export function shardRange(count: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((rank * count) / worldSize), Math.floor(((rank + 1) * count) / worldSize)];
}

export function shardOf<T>(items: T[], rank: number, worldSize: number): T[] {
  const [start, end] = shardRange(items.length, rank, worldSize);
  return items.slice(start, end);
}
