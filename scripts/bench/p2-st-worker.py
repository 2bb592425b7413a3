#!/usr/bin/env python3
"""Peer side of benchmark P2 (driven by scripts/bench/p2-train-step.js over stdin/stdout):
sentence-transformers 6.0.1 SparseEncoder + SpladeLoss(SparseDistillKLDivLoss(T=1), FlopsLoss(threshold=200))
with SpladePooling('max', 'log1p_relu') on bench/work/p2/model, one optimizer step per 'step' command:
forward (queries: SparseStaticEmbedding, docs: one merged 16 x 256 forward), loss, backward,
clip_grad_norm_(1.0), AdamW (lr 2e-5, weight decay 0.01 except bias/LayerNorm), zero_grad — what
SparseEncoderTrainer does per step, without its data pipeline. Commands: step | rss | quit.
P2_DEVICE (default cpu) places model and batch; P2_BF16=1 runs forward and loss under bfloat16 autocast, as
SparseEncoderTrainer with bf16=True does. On a GPU a step's time ends after torch.cuda.synchronize().
"""
import json
import os
import resource
import sys
import time

import torch

torch.set_num_threads(int(os.environ.get('P2_THREADS', '2')))

from sentence_transformers import SparseEncoder  # noqa: E402
from sentence_transformers.base.modules import Router, Transformer  # noqa: E402
from sentence_transformers.sparse_encoder.losses import SparseDistillKLDivLoss, SpladeLoss  # noqa: E402
from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding, SpladePooling  # noqa: E402


def main():
    work = sys.argv[1]
    with open(os.path.join(work, 'batch.json')) as f:
        batch = json.load(f)
    model_dir = os.path.join(work, 'model')
    doc = Transformer(model_dir, transformer_task='fill-mask', max_seq_length=256)
    vocab = doc.auto_model.config.vocab_size
    ids = torch.arange(vocab, dtype=torch.float64)
    idf = (0.5 + torch.remainder(ids * 7919, 1000) / 500).to(torch.float32)
    query = SparseStaticEmbedding(tokenizer=doc.tokenizer, weight=idf, frozen=True)
    pooling = SpladePooling(pooling_strategy='max', activation_function='log1p_relu')
    model = SparseEncoder(modules=[Router.for_query_document(query_modules=[query], document_modules=[doc, pooling])],
                          similarity_fn_name='dot')
    device = torch.device(os.environ.get('P2_DEVICE', 'cpu'))
    bf16 = os.environ.get('P2_BF16') == '1'
    model.to(device)
    model.train()
    loss_fn = SpladeLoss(model, loss=SparseDistillKLDivLoss(model, temperature=1.0), document_regularizer_weight=0.04,
                         query_regularizer_weight=None, document_regularizer_threshold=200)
    decay, no_decay = [], []
    for name, p in doc.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith('bias') or 'LayerNorm' in name or 'layer_norm' in name else decay).append(p)
    params = decay + no_decay
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}], lr=2e-5)

    qlen = max(len(q) for q in batch['queries'])
    q_ids = torch.tensor([q + [0] * (qlen - len(q)) for q in batch['queries']])
    q_mask = torch.tensor([[1] * len(q) + [0] * (qlen - len(q)) for q in batch['queries']])
    q_ids, q_mask = q_ids.to(device), q_mask.to(device)
    docs = torch.tensor(batch['docs']).to(device)
    labels = torch.tensor(batch['teacher'], dtype=torch.float32).to(device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    def columns():
        col = lambda i, m, task: {'input_ids': i, 'attention_mask': m, 'task': task, 'modality': 'text'}
        return [col(q_ids, q_mask, 'query'),
                col(docs[0::2], torch.ones_like(docs[0::2]), 'document'),
                col(docs[1::2], torch.ones_like(docs[1::2]), 'document')]

    print('ready', flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'step':
            t0 = time.perf_counter()
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                losses = loss_fn(columns(), labels)
                total = sum(losses.values())
            total.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sync()
            dt = time.perf_counter() - t0
            print(f'step {dt} {float(total.detach())}', flush=True)
        elif cmd == 'rss':
            print(f'rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}', flush=True)
        elif cmd == 'quit':
            break


if __name__ == '__main__':
    main()
