/**
 * Checkpoint folders of a run: <output>/checkpoints/step-00000100/ holding config.json +
 * model.safetensors (transformers layout), optimizer.pt (AdamW state, step, RNG) and trainer-state.json.
 * A checkpoint is written into a hidden temporary folder and renamed into place (lib/io withAtomicDir), so a
 * killed run never leaves a half-written checkpoint that looks complete.
 */
import * as fs from 'fs';
import * as path from 'path';

import { withAtomicDir } from '../io';
import type { NativeTrainer } from './native-trainer';

export interface TrainerState {
  step: number;
  savedAt: string;
  /** The metrics of the step that produced the checkpoint (a training or a pretraining step). */
  metrics?: object;
}

const STATE_FILE = 'trainer-state.json';

export function checkpointsDir(output: string): string {
  return path.join(output, 'checkpoints');
}

export function checkpointPath(output: string, step: number): string {
  return path.join(checkpointsDir(output), `step-${String(step).padStart(8, '0')}`);
}

/** Complete checkpoints, oldest first. */
export function listCheckpoints(output: string): { step: number; dir: string }[] {
  const dir = checkpointsDir(output);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((name) => /^step-\d{8}$/.test(name) && fs.existsSync(path.join(dir, name, STATE_FILE)))
    .map((name) => ({ step: Number(name.slice(5)), dir: path.join(dir, name) }))
    .sort((a, b) => a.step - b.step);
}

export function readTrainerState(dir: string): TrainerState {
  return JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as TrainerState;
}

/** Saves a checkpoint atomically and keeps only the newest `keep`. */
export async function saveCheckpoint(trainer: NativeTrainer, output: string, step: number, keep: number,
  metrics?: object): Promise<string> {
  const final = checkpointPath(output, step);
  await withAtomicDir(final, async (tmp) => {
    await trainer.saveCheckpoint(tmp);
    const state: TrainerState = { step, savedAt: new Date().toISOString(), metrics };
    fs.writeFileSync(path.join(tmp, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  });
  for (const old of listCheckpoints(output).slice(0, -keep)) fs.rmSync(old.dir, { recursive: true, force: true });
  // Leftovers of killed runs.
  for (const name of fs.readdirSync(checkpointsDir(output))) {
    if (name.startsWith('.partial-') || name.startsWith('.replaced-')) fs.rmSync(path.join(checkpointsDir(output), name), { recursive: true, force: true });
  }
  return final;
}

/** Restores the newest complete checkpoint of a run folder into `trainer`, if any; returns the step it holds (0: none). */
export async function resumeFromCheckpoint(trainer: NativeTrainer, output: string): Promise<number> {
  const latest = listCheckpoints(output).at(-1);
  if (!latest) return 0;
  const step = await trainer.loadCheckpoint(latest.dir);
  if (step !== readTrainerState(latest.dir).step) throw new Error(`${latest.dir}: optimizer state and trainer-state.json disagree on the step`);
  return step;
}
