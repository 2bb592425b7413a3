/**
 * Masking for masked-LM pretraining, BERT's rule as transformers' DataCollatorForLanguageModeling applies it:
 * each real, non-special token is chosen with probability p; a chosen token becomes [MASK] (80%), a random
 * token (10%) or stays (10%), and is predicted in every case. Two choices of ours, for small batches and
 * small vocabularies: a batch always predicts at least one token (a batch with none has no loss), and the
 * random replacement is never a special token ([PAD], [CLS], ... as input teach nothing).
 * Pure function of its `random` source: with a seeded source a resumed run masks exactly as before.
 */
import type { DocumentBatch } from '../tokenizer/padding';
import type { MlmBatch } from './native-trainer';

export const NOT_PREDICTED = -100;

export interface MlmMaskingOptions {
  /** Chance that a token is predicted (BERT: 0.15). */
  probability: number;
  maskId: number;
  vocabSize: number;
  /** Ids never masked nor drawn as random replacements. */
  isSpecial: (id: number) => boolean;
  /** Uniform floats in [0, 1). */
  random: () => number;
}

export function maskForMlm(batch: DocumentBatch, opts: MlmMaskingOptions): MlmBatch {
  const { probability, maskId, vocabSize, isSpecial, random } = opts;
  if (!(probability > 0 && probability < 1)) throw new RangeError(`mlm probability must be in (0, 1), got ${probability}`);
  const inputIds = Int32Array.from(batch.inputIds);
  const labels = new Int32Array(inputIds.length).fill(NOT_PREDICTED);
  const eligible: number[] = [];
  for (let i = 0; i < inputIds.length; i++) {
    if (batch.attentionMask[i] !== 0 && !isSpecial(inputIds[i])) eligible.push(i);
  }
  if (eligible.length === 0) throw new RangeError('mlm batch: no token can be masked (every token is special or padding)');
  const chosen = eligible.filter(() => random() < probability);
  if (chosen.length === 0) chosen.push(eligible[Math.floor(random() * eligible.length)]);
  for (const i of chosen) {
    labels[i] = inputIds[i];
    const r = random();
    if (r < 0.8) inputIds[i] = maskId;
    else if (r < 0.9) inputIds[i] = randomOrdinaryToken(vocabSize, isSpecial, random);
  }
  return { docs: { ...batch, inputIds }, labels };
}

function randomOrdinaryToken(vocabSize: number, isSpecial: (id: number) => boolean, random: () => number): number {
  for (;;) {
    const id = Math.floor(random() * vocabSize);
    if (!isSpecial(id)) return id;
  }
}
