/**
 * How long the two warm-ups of a run last (METHOD.md §3-4). The paper's 6,000 LR warm-up steps and λ warm-up
 * T = 10,000 belong to its 100,000-step run; copied as absolute numbers into a 1,000-step run they leave the
 * learning rate below 1/6 of its peak and λ at 1% of its value for the whole run. So unset lengths default to
 * the paper's *fractions* of the run, and a length that is set is kept but reported when it outlasts the run.
 */

export interface ScheduleLengths {
  /** Steps of linear learning-rate warm-up (the native `warmupSteps`). */
  warmupSteps: number;
  /** T of the quadratic λ warm-up λ·min(1, ((step+1)/T)²) (the native `lambdaWarmup`). */
  lambdaWarmup: number;
}

/** The paper's schedule relative to its 100k-step run: 6k LR warm-up steps (6%), λ warm-up T = 10k (10%). */
export const PAPER_SCHEDULE_FRACTIONS: Readonly<ScheduleLengths> = Object.freeze({ warmupSteps: 0.06, lambdaWarmup: 0.1 });

export interface ResolvedSchedule {
  lengths: ScheduleLengths;
  /** One line per set length that exceeds the run, naming the key, its value, the run length and the effect. */
  warnings: string[];
}

/** A share as a percentage with two significant digits: 0.06 → "6%", 0.1665 → "17%". */
function percent(x: number): string {
  return `${Number((100 * x).toPrecision(2))}%`;
}

/** What a warm-up longer than the run does, in the native schedule's own terms (train/losses.cc). */
function overrunEffect(key: keyof ScheduleLengths, value: number, steps: number): string {
  if (key === 'warmupSteps') {
    // lr(s) = peak·s/warmup while s < warmup: the last step (s = steps - 1) is the highest and no decay follows.
    return `the learning rate never reaches its peak (at most ${percent((steps - 1) / value)} of lr) and never decays`;
  }
  // λ(s) = λ·((s+1)/T)² while s + 1 < T: the last step (s + 1 = steps) is the highest.
  return `λ reaches only ${percent((steps / value) ** 2)} of its value`;
}

/**
 * The run's warm-up lengths: a set value is kept (0 = no warm-up), an unset one is `fractions` of `steps`
 * rounded to an integer of at least 1.
 */
export function resolveScheduleLengths(steps: number, set: Partial<ScheduleLengths>,
  fractions: Readonly<ScheduleLengths> = PAPER_SCHEDULE_FRACTIONS): ResolvedSchedule {
  const warnings: string[] = [];
  const resolve = (key: keyof ScheduleLengths): number => {
    const value = set[key];
    if (value === undefined) return Math.max(1, Math.round(steps * fractions[key]));
    if (value > steps) {
      warnings.push(`step.${key} ${value} is longer than the run (${steps} steps): ${overrunEffect(key, value, steps)}; ` +
        `unset, it defaults to ${percent(fractions[key])} of the run`);
    }
    return value;
  };
  return { lengths: { warmupSteps: resolve('warmupSteps'), lambdaWarmup: resolve('lambdaWarmup') }, warnings };
}
