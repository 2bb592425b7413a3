/**
 * Collapse detection for training runs. A run whose document vectors die keeps stepping without complaint: the
 * nonzeros fall towards 0, every query scores every document alike (InfoNCE then sits at exactly ln(candidates)),
 * the gradient is exactly 0 and AdamW has nothing left to move. A user's 300-step run went on like that for 90
 * steps and saved the dead model. Each optimizer step's metrics are checked for these symptoms; `patience` steps
 * in a row showing one are a collapse (a single step may show one in passing, e.g. a batch of empty queries).
 */
import type { TrainMetrics, TrainStepConfig } from './native-trainer';

/** How close the ranking loss must be to its all-equal-scores value, relative to max(1, that value). */
export const EQUAL_SCORES_TOLERANCE = 1e-4;

export interface EqualScoresBatch {
  /** Documents every query is scored against: for InfoNCE, all documents of the (global) batch. */
  candidates: number;
  groupSize: number;
  /** Teacher scores of the (global) batch, row-major [Q, G] (KL and MarginMSE). */
  teacher?: ArrayLike<number>;
}

/** The ranking loss when every student score is equal, with what that value is, or null when undefined. */
export interface EqualScoresLoss {
  value: number;
  meaning: string;
}

function logSumExp(xs: number[]): number {
  const max = Math.max(...xs);
  return max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
}

/**
 * The value the native ranking loss (train/losses.cc) takes when every student score of the batch is equal: no
 * ranking signal is left. InfoNCE: ln(candidates). KL: T²·mean_q Σ_g p_g·ln(p_g·G), p = softmax(teacher/T).
 * MarginMSE: the mean squared teacher margin. Null when the batch lacks what the value needs.
 */
export function equalScoresLoss(step: Pick<TrainStepConfig, 'loss' | 'temperature'>, batch: EqualScoresBatch): EqualScoresLoss | null {
  const loss = step.loss ?? 'kl';
  if (loss === 'info_nce') return { value: Math.log(batch.candidates), meaning: `ln ${batch.candidates}` };
  const t = batch.teacher;
  const g = batch.groupSize;
  if (!t || t.length === 0 || t.length % g !== 0) return null;
  const queries = t.length / g;
  let total = 0;
  for (let q = 0; q < queries; q++) {
    const row = Array.from({ length: g }, (_, j) => t[q * g + j]);
    if (loss === 'margin_mse') {
      for (let j = 1; j < g; j++) total += (row[0] - row[j]) ** 2 / (g - 1);
    } else {
      const temperature = step.temperature ?? 1;
      const logits = row.map((x) => x / temperature);
      const norm = logSumExp(logits);
      for (const x of logits) total += Math.exp(x - norm) * (x - norm + Math.log(g)) * temperature * temperature;
    }
  }
  const meaning = loss === 'margin_mse' ? 'the mean squared teacher margin' : 'the KL of uniform scores to the teacher';
  return { value: total / queries, meaning };
}

/** The symptoms one optimizer step's metrics show (empty: healthy). */
export function collapseSymptoms(m: TrainMetrics, equal: EqualScoresLoss | null, minDocNnz: number): string[] {
  const out: string[] = [];
  // On accumulation micro-steps the native step reports 0: only an optimizer step's norm means anything.
  if (m.optimizerStepped && (m.gradNorm === 0 || !Number.isFinite(m.gradNorm))) out.push(`gradient norm ${m.gradNorm}`);
  // Equal scores are a symptom only where they are not already optimal (a uniform teacher, one candidate).
  if (equal && equal.value > EQUAL_SCORES_TOLERANCE &&
    Math.abs(m.rankingLoss - equal.value) <= EQUAL_SCORES_TOLERANCE * Math.max(1, equal.value)) {
    out.push(`ranking loss ${m.rankingLoss.toFixed(4)} = ${equal.meaning} (${equal.value.toFixed(4)}), every score equal`);
  }
  if (!(m.meanDocNnz >= minDocNnz)) out.push(`mean document nonzeros ${m.meanDocNnz.toFixed(2)} < ${minDocNnz}`);
  return out;
}

export interface Collapse {
  /** The step (as in train-log.jsonl) where the symptoms began, and the one where patience ran out. */
  firstStep: number;
  step: number;
  /** The symptoms of `step`. */
  symptoms: string[];
}

/** Counts consecutive symptomatic steps; reports a collapse once `patience` of them are in a row. */
export class CollapseDetector {
  private streak = 0;
  private firstStep = 0;

  constructor(readonly patience: number, readonly minDocNnz: number) {
    if (!Number.isInteger(patience) || patience < 1) throw new RangeError(`collapse patience must be an integer >= 1, got ${patience}`);
  }

  /** True while the latest steps show symptoms (a collapse may be under way). */
  get suspect(): boolean {
    return this.streak > 0;
  }

  /** Feeds one optimizer step; returns the collapse when this step completes `patience` symptomatic steps in a row. */
  observe(m: TrainMetrics, equal: EqualScoresLoss | null): Collapse | null {
    const symptoms = collapseSymptoms(m, equal, this.minDocNnz);
    if (symptoms.length === 0) {
      this.streak = 0;
      return null;
    }
    if (this.streak === 0) this.firstStep = m.step;
    this.streak++;
    return this.streak === this.patience ? { firstStep: this.firstStep, step: m.step, symptoms } : null;
  }
}

/** A run stopped by collapse detection; no model was saved. */
export class TrainingCollapsedError extends Error {
  constructor(readonly collapse: Collapse, readonly lastGoodCheckpoint: { dir: string; step: number } | null, checkpointNote: string) {
    super(`training collapsed at step ${collapse.step}: ${collapse.symptoms.join('; ')} ` +
      `(${collapse.step - collapse.firstStep + 1} steps in a row, since step ${collapse.firstStep}). The document vectors ` +
      `carry no ranking signal any more; the model was not saved. ${checkpointNote}\n` +
      'Lower the learning rate or λ, or lengthen step.lambdaWarmup; stopOnCollapse: false trains on regardless.');
    this.name = 'TrainingCollapsedError';
  }
}
