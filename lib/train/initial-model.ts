/**
 * The model a run starts from — a saved encoder folder, or a random one (bag-of-words initialised unless
 * switched off) — checked against the run's tokenizer and sequence length. Shared by `train` and `pretrain`.
 */
import { NativeMlmModel } from '../model/native-model';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import type { RandomInit } from './config';
import { initBagOfWords } from './native-trainer';

/** What a run says about its starting point. */
export interface InitialModelConfig {
  init: string | RandomInit;
  seed: number;
  maxLength: number;
}

/** A transformers config.json for a random model of `init`'s shape. */
export function randomInitConfig(init: RandomInit, vocabSize: number, padId: number): Record<string, unknown> {
  if (init.architecture === 'distilbert') {
    return { model_type: 'distilbert', vocab_size: vocabSize, dim: init.hiddenSize, n_layers: init.numLayers,
      n_heads: init.numHeads, hidden_dim: init.intermediateSize, max_position_embeddings: init.maxPositions,
      pad_token_id: padId, sinusoidal_pos_embds: false, activation: 'gelu', dropout: 0.1, attention_dropout: 0.1 };
  }
  return { model_type: 'bert', vocab_size: vocabSize, hidden_size: init.hiddenSize, num_hidden_layers: init.numLayers,
    num_attention_heads: init.numHeads, intermediate_size: init.intermediateSize, max_position_embeddings: init.maxPositions,
    type_vocab_size: 2, pad_token_id: padId, hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 };
}

export async function initialModel(config: InitialModelConfig, tokenizer: TextTokenizer, device: string): Promise<NativeMlmModel> {
  let model: NativeMlmModel;
  if (typeof config.init === 'string') {
    model = await NativeMlmModel.load(config.init, { device });
  } else {
    const init = config.init;
    model = await NativeMlmModel.create(randomInitConfig(init, tokenizer.vocabSize, tokenizer.specialId('[PAD]') ?? 0),
      { seed: init.seed ?? config.seed, device });
    const bow = init.bagOfWords ?? true;
    if (bow !== false) initBagOfWords(model, { ...(bow === true ? {} : bow), seed: init.seed ?? config.seed });
  }
  if (config.maxLength > model.config.maxPositions) {
    throw new Error(`maxLength ${config.maxLength} exceeds the model's ${model.config.maxPositions} positions`);
  }
  if (model.config.vocabSize !== tokenizer.vocabSize) {
    throw new Error(`the model has ${model.config.vocabSize} vocabulary rows but the tokenizer has ${tokenizer.vocabSize} tokens`);
  }
  return model;
}
