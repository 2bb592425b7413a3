#!/usr/bin/env python3
"""Benchmark P2 set-up: one random-init DistilBERT MLM (6 layers x 768, vocab 30522) saved once with
transformers into bench/work/p2/model (git-ignored), so both sides load the same initial weights, plus a fixed
batch (bench/work/p2/batch.json): 8 queries x 2 docs x 256 tokens (random ids, no padding), 8-token queries
with deterministic made-up idf weights, teacher scores. Run with the fixture venv:
    .venv-fixtures/bin/python scripts/bench/p2-setup.py
"""
import json
import os
import shutil

import numpy as np
import torch
from transformers import DistilBertConfig, DistilBertForMaskedLM

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DATA = os.environ.get('L0SPARSE_SHARED_DATA', os.path.join(REPO, '..', 'shared', 'data'))
OUT = os.path.join(REPO, 'bench', 'work', 'p2')
Q, G, L, QLEN, V = 8, 2, 256, 8, 30522


def main():
    model_dir = os.path.join(OUT, 'model')
    os.makedirs(model_dir, exist_ok=True)
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=V, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                              max_position_embeddings=512)
    DistilBertForMaskedLM(config).save_pretrained(model_dir)
    shutil.copy(os.path.join(DATA, 'bert-base-uncased', 'tokenizer.json'), model_dir)
    with open(os.path.join(model_dir, 'tokenizer_config.json'), 'w') as f:
        json.dump({'tokenizer_class': 'BertTokenizer', 'do_lower_case': True, 'model_max_length': 512}, f)
    rng = np.random.default_rng(0)
    docs = rng.integers(1000, V, size=(Q * G, L))
    docs[:, 0], docs[:, -1] = 101, 102
    queries = [sorted(set(rng.integers(1000, V, size=QLEN).tolist())) for _ in range(Q)]
    teacher = rng.normal(size=(Q, G)).round(3).tolist()
    with open(os.path.join(OUT, 'batch.json'), 'w') as f:
        json.dump({'docs': docs.tolist(), 'queries': queries, 'teacher': teacher,
                   'idf': 'w(id) = 0.5 + ((id * 7919) mod 1000) / 500'}, f)
    print(f'wrote {model_dir} and batch.json')


if __name__ == '__main__':
    main()
