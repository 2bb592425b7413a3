#!/usr/bin/env python3
"""Where the time of P3's peer goes (a bound on any encoder's speed-up over it): on the P3 checkpoint and one
batch of 32 documents x max length, times (a) the transformer encoder alone (DistilBertModel forward), (b) the
MLM head's vocabulary GEMM alone ([B*L, D] x [D, V]), (c) the whole sentence-transformers encode_document of
the same batch. Every encoder must still run (a) and, at float32 exactness, the FLOPs of (b); so (c) / (a + b)
bounds the speed-up of any implementation that keeps both exact.

  .venv-fixtures/bin/python scripts/bench/p3-breakdown.py bench/work/p3/model bench/work/p3/corpus.jsonl [--max-length 256] [--reps 3]
"""
import argparse
import json
import statistics
import time

import torch
from sentence_transformers import SparseEncoder
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sparse_encoder.modules import SpladePooling
from transformers import AutoModelForMaskedLM, AutoTokenizer


def timed(fn, reps):
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("corpus")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    texts = []
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            texts.append((d.get("title", "") + " " + d.get("text", "")).strip())
            if len(texts) == args.batch_size:
                break
    tok = AutoTokenizer.from_pretrained(args.model)
    mlm = AutoModelForMaskedLM.from_pretrained(args.model).eval()
    batch = tok(texts, padding=True, truncation=True, max_length=args.max_length, return_tensors="pt")
    base = mlm.base_model
    with torch.inference_mode():
        hidden = base(**batch).last_hidden_state
        rows = hidden.reshape(-1, hidden.shape[-1])
        emb = mlm.get_output_embeddings().weight
        t_encoder = timed(lambda: base(**batch), args.reps)
        t_gemm = timed(lambda: rows @ emb.t(), args.reps)
    transformer = Transformer(args.model, transformer_task="fill-mask", max_seq_length=args.max_length)
    st = SparseEncoder(modules=[transformer, SpladePooling(pooling_strategy="max", activation_function="relu")],
                       device="cpu").eval()
    t_st = timed(lambda: st.encode_document(texts, batch_size=args.batch_size, convert_to_tensor=True), args.reps)
    bound = t_st / (t_encoder + t_gemm)
    print(json.dumps({
        "tokens": int(batch["attention_mask"].sum()), "shape": list(batch["input_ids"].shape),
        "threads": torch.get_num_threads(), "encoder_s": t_encoder, "vocab_gemm_s": t_gemm,
        "st_encode_document_s": t_st, "max_speedup_keeping_encoder_and_gemm": bound,
    }, indent=2))


if __name__ == "__main__":
    main()
