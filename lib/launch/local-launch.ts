/**
 * `l0sparse <command> --nproc N` (train, encode): runs N ranks of a command on this machine
 * (docs/DISTRIBUTED.md). Each child gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
 * MASTER_ADDR=127.0.0.1 and a free MASTER_PORT. Rank 0's stdout is passed through; every rank's stderr is
 * passed through with a "[rank r]" prefix. If any child fails, the others are stopped (SIGTERM, then SIGKILL)
 * and the launch fails with that child's error. Children also exit when the launcher dies (their IPC channel
 * closes), so no rank outlives it.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as net from 'net';

export interface LaunchOptions {
  nproc: number;
  /** Script run by each child with process.execPath (the CLI's main.js). */
  script: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Default: a free port on 127.0.0.1. */
  masterPort?: number;
  /** Grace period between SIGTERM and SIGKILL when stopping the other ranks (ms). Default 5000. */
  killGraceMs?: number;
  /** Where rank 0's stdout and everyone's prefixed stderr go. Default: this process's. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export class RankFailedError extends Error {
  constructor(readonly rank: number, readonly code: number | null, readonly signal: NodeJS.Signals | null, readonly stderrTail: string) {
    super(`rank ${rank} failed (${signal ? `killed by ${signal}` : `exit code ${code}`})` +
      (stderrTail ? `: ${stderrTail}` : ''));
  }
}

/** Marks a child started by the launcher; the child calls exitWithLauncher(). */
const LAUNCHED = 'L0SPARSE_LAUNCHED';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** True in a process started as a rank by launchLocal (as opposed to a rank started by hand or another launcher). */
export function isLocallyLaunchedRank(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[LAUNCHED] === '1';
}

/** --nproc's value: a positive integer (1 when the option is absent). */
export function parseNproc(value: string | undefined): number {
  const nproc = value === undefined ? 1 : Number(value);
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`--nproc must be a positive integer, got '${value}'`);
  return nproc;
}

/**
 * True when a CLI command given --nproc N should start N ranks of itself: N > 1 and this process is not
 * already a rank (RANK unset; the ranks it starts do not see --nproc).
 */
export function shouldLaunchRanks(nproc: number, env: NodeJS.ProcessEnv = process.env): boolean {
  return nproc > 1 && env.RANK === undefined;
}

/**
 * Runs N ranks of the CLI command this process was started with (process.argv, minus its --nproc option)
 * and waits for them; rejects with RankFailedError when one fails.
 */
export async function launchRanksOfThisCommand(nproc: number, opts: Partial<Omit<LaunchOptions, 'nproc' | 'script' | 'args'>> = {}): Promise<void> {
  const args = process.argv.slice(2);
  for (let i = args.findIndex(isNprocArg); i >= 0; i = args.findIndex(isNprocArg)) args.splice(i, args[i] === '--nproc' ? 2 : 1);
  await launchLocal({ ...opts, nproc, script: process.argv[1], args });
}

function isNprocArg(arg: string): boolean {
  return arg === '--nproc' || arg.startsWith('--nproc=');
}

/** In a child started by launchLocal: exit as soon as the launcher goes away (no orphaned ranks). */
export function exitWithLauncher(): void {
  if (process.env[LAUNCHED] !== '1' || typeof process.send !== 'function') return;
  process.on('disconnect', () => {
    process.stderr.write('l0sparse: the launcher exited; stopping this rank\n');
    process.exit(70);
  });
  // The channel must not keep the child alive once its work is done.
  (process.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
}

function prefixLines(stream: NodeJS.ReadableStream, prefix: string, out: NodeJS.WritableStream, keep: string[]): void {
  let pending = '';
  const emit = (line: string) => {
    out.write(`${prefix}${line}\n`);
    if (line.trim()) {
      keep.push(line);
      if (keep.length > 20) keep.shift();
    }
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  stream.on('end', () => { if (pending) emit(pending); pending = ''; });
}

/** Runs the N ranks; resolves when all exit 0, rejects with RankFailedError for the first that fails. */
export async function launchLocal(opts: LaunchOptions): Promise<void> {
  if (!Number.isInteger(opts.nproc) || opts.nproc < 1) throw new RangeError(`--nproc must be a positive integer, got ${opts.nproc}`);
  const port = opts.masterPort ?? await freePort();
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const grace = opts.killGraceMs ?? 5000;
  const base = { ...process.env, ...opts.env };
  const children: ChildProcess[] = [];
  const tails: string[][] = [];
  let failure: RankFailedError | null = null;
  let running = opts.nproc;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    }
  };
  let killTimer: NodeJS.Timeout | null = null;
  const stopOthers = () => {
    stopAll('SIGTERM');
    killTimer ??= setTimeout(() => stopAll('SIGKILL'), grace);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    failure ??= new RankFailedError(-1, null, signal, `the launcher received ${signal}`);
    stopOthers();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await new Promise<void>((resolve, reject) => {
      for (let rank = 0; rank < opts.nproc; rank++) {
        const env: NodeJS.ProcessEnv = {
          ...base, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(opts.nproc),
          LOCAL_WORLD_SIZE: String(opts.nproc), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), [LAUNCHED]: '1',
        };
        // Gloo binds to the host name's address unless told otherwise; on one machine loopback always works.
        if (env.GLOO_SOCKET_IFNAME === undefined && process.platform === 'linux') env.GLOO_SOCKET_IFNAME = 'lo';
        const child = spawn(process.execPath, [opts.script, ...opts.args], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
        children.push(child);
        const tail: string[] = [];
        tails.push(tail);
        if (rank === 0) child.stdout!.pipe(stdout as NodeJS.WritableStream, { end: false });
        else child.stdout!.resume();
        prefixLines(child.stderr!, `[rank ${rank}] `, stderr, tail);
        child.on('error', (e) => {
          failure ??= new RankFailedError(rank, null, null, `could not start: ${e.message}`);
          stopOthers();
        });
        child.on('close', (code, signal) => {
          if ((code !== 0 || signal) && !failure) {
            const last = tail.filter((l) => /error|fail|l0sparse:/i.test(l)).slice(-3);
            failure = new RankFailedError(rank, code, signal, (last.length ? last : tail.slice(-3)).join('\n'));
            stopOthers();
          }
          if (--running === 0) {
            if (killTimer) clearTimeout(killTimer);
            if (failure) reject(failure);
            else resolve();
          }
        });
      }
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
