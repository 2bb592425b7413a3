import * as path from 'path';

import type { Command } from 'commander';
import YAML from 'yaml';
import * as fs from 'fs';

import { normalizeTrainConfig } from '../../train/config';
import { distributedFromEnv, ProcessGroup } from '../../train/distributed';
import { exitWithLauncher, launchRanksOfThisCommand, parseNproc, shouldLaunchRanks } from '../../launch/local-launch';
import { heldOutEvaluation } from '../../train/held-out-eval';
import { runTraining } from '../../train/run';

/** Applies `--set a.b=value` overrides (value parsed as JSON when it parses, else kept as a string). */
function applyOverrides(raw: Record<string, unknown>, sets: string[]): void {
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value, got '${s}'`);
    const keys = s.slice(0, eq).split('.');
    let value: unknown = s.slice(eq + 1);
    try { value = JSON.parse(value as string); } catch { /* a plain string */ }
    let node = raw;
    for (const k of keys.slice(0, -1)) {
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
}

/** `l0sparse train --config run.yaml`: a resumable native training run (see lib/train/config.ts for keys). */
export function register(program: Command): void {
  program.command('train')
    .description('train an inference-free sparse document encoder (resumes from the newest checkpoint in the output folder)')
    .requiredOption('--config <file>', 'run configuration (.json, .yaml or .yml)')
    .option('--set <key=value...>', 'override a config key, e.g. --set steps=200 --set step.lambda=0.01', [])
    .option('--device <cpu|cuda|cuda:N>', "where the model trains (overrides the config's 'device'; default cpu; " +
      'cuda needs the CUDA variant and a GPU, and a single process)')
    .option('--eval-max-corpus <n>', 'held-out evaluation on at most n corpus documents')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .option('--nproc <n>', 'data-parallel training with n processes on this machine (docs/DISTRIBUTED.md); ' +
      'across machines, start one process per rank with MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK set')
    .action(async (opts: { config: string; set: string[]; device?: string; evalMaxCorpus?: string; progress: boolean; json?: boolean; nproc?: string }) => {
      // --nproc N (and not already a rank): start N ranks of this same command and wait for them.
      const nproc = parseNproc(opts.nproc);
      if (shouldLaunchRanks(nproc)) {
        await launchRanksOfThisCommand(nproc);
        return;
      }
      exitWithLauncher();
      const dist = distributedFromEnv();
      const processGroup = dist ? await ProcessGroup.init(dist) : undefined;
      const file = path.resolve(opts.config);
      const text = fs.readFileSync(file, 'utf8');
      const raw = (/\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text)) as Record<string, unknown>;
      applyOverrides(raw, opts.set);
      if (opts.device !== undefined) raw.device = opts.device;
      // Every rank normalises the same config: rank 0 alone reports its warnings.
      const config = normalizeTrainConfig(raw, path.dirname(file), dist && dist.rank !== 0 ? { warn: () => undefined } : {});
      const maxCorpus = opts.evalMaxCorpus === undefined ? undefined : Number(opts.evalMaxCorpus);
      const result = await runTraining(config, {
        progress: opts.progress,
        onEval: (config.data.holdOut ?? 0) > 0 ? heldOutEvaluation({ maxCorpus }) : undefined,
        processGroup,
      });
      if (processGroup && !processGroup.isMain) return;  // rank 0 reports
      if (opts.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const m = result.lastMetrics;
      process.stdout.write(`trained ${result.steps} steps (resumed from ${result.resumedFrom}) in ${result.seconds.toFixed(1)} s on ${result.groups} groups (device ${result.device})\n`);
      if (m) process.stdout.write(`last step: loss ${m.loss.toFixed(4)} (ranking ${m.rankingLoss.toFixed(4)}, regularizer ${m.regularizerLoss.toFixed(2)} × λ ${m.lambda.toExponential(2)}), doc nnz ${m.meanDocNnz.toFixed(1)}, lr ${m.lr.toExponential(2)}\n`);
      for (const e of result.evaluations) process.stdout.write(`eval @${e.step}: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n`);
      if (result.modelDir) process.stdout.write(`model: ${result.modelDir}\n`);
    });
}
