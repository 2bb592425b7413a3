#!/usr/bin/env python3
"""Benchmark P3 checkpoint: a random-initialised DistilBERT masked LM (6 layers x 768, 12 heads, 3072 FFN) with
the real bert-base-uncased vocabulary, saved once by transformers (save_pretrained, safetensors) with the
shared tokenizer, into the git-ignored bench/work/p3/model. Both l0sparse and sentence-transformers load
this same directory.

  .venv-fixtures/bin/python scripts/bench/p3-make-model.py [--out bench/work/p3/model] [--data ../shared/data]
"""
import argparse
import os
import shutil

import torch
from transformers import BertTokenizerFast, DistilBertConfig, DistilBertForMaskedLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEED = 3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "work", "p3", "model"))
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.out, "model.safetensors")):
        print(f"{args.out} exists; keeping it")
        return
    torch.manual_seed(SEED)
    config = DistilBertConfig(vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                              max_position_embeddings=512, sinusoidal_pos_embds=False)
    model = DistilBertForMaskedLM(config).eval()
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer_dir = os.path.join(args.data, "bert-base-uncased")
    tokenizer = BertTokenizerFast(vocab_file=os.path.join(tokenizer_dir, "vocab.txt"),
                                  tokenizer_file=os.path.join(tokenizer_dir, "tokenizer.json"), do_lower_case=True,
                                  model_max_length=512)
    tokenizer.save_pretrained(args.out)
    print(f"saved {sum(p.numel() for p in model.parameters())} parameters to {args.out}")


if __name__ == "__main__":
    main()
