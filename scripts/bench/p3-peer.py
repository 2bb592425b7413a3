#!/usr/bin/env python3
"""Benchmark P3 peer worker: sentence-transformers 6 SparseEncoder over the P3 checkpoint, answering commands on
stdin (one per line) so the coordinator (scripts/bench/p3-encode.js) can interleave it with l0sparse:
  warm <n>         encode_document on the first n texts (not timed)
  run              encode_document on all texts, prints {"seconds": ...}
  dump <file>      writes the vectors of the texts at the coordinator's sample positions (JSON)
  quit
Modules: Transformer(model, transformer_task="fill-mask", max_seq_length) + SpladePooling("max", "relu")
(= max over tokens of log1p(relu(logits)), special tokens kept), batch size 32, float32, torch threads fixed.

With dtype bfloat16 the whole model is cast with model.to(torch.bfloat16) (what a user of ST does to run in bf16).

  .venv-fixtures/bin/python scripts/bench/p3-peer.py <model dir> <texts.json> <threads> <max length> <batch size> [dtype] [device (cpu)]
On a GPU a timed run ends after torch.cuda.synchronize().
"""
import json
import sys
import time

import torch
from sentence_transformers import SparseEncoder
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sparse_encoder.modules import SpladePooling


def main():
    model_dir, texts_file, threads, max_length, batch_size = sys.argv[1:6]
    dtype = sys.argv[6] if len(sys.argv) > 6 else "float32"
    device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
    on_gpu = torch.device(device).type == "cuda"

    def encode(texts_part):
        vectors = model.encode_document(texts_part, batch_size=batch, convert_to_tensor=True)
        if on_gpu:
            torch.cuda.synchronize()
        return vectors

    torch.set_num_threads(int(threads))
    with open(texts_file, encoding="utf-8") as f:
        texts = json.load(f)
    transformer = Transformer(model_dir, transformer_task="fill-mask", max_seq_length=int(max_length))
    pooling = SpladePooling(pooling_strategy="max", activation_function="relu")
    model = SparseEncoder(modules=[transformer, pooling], device=device, similarity_fn_name="dot").eval()
    if dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    elif dtype != "float32":
        raise SystemExit(f"dtype must be float32 or bfloat16, got {dtype}")
    batch = int(batch_size)
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "max_seq_length": model.max_seq_length, "dtype": dtype}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "warm":
            encode(texts[:int(cmd[1])])
            print(json.dumps({"warm": True}), flush=True)
        elif cmd[0] == "run":
            start = time.perf_counter()
            vectors = encode(texts)
            seconds = time.perf_counter() - start
            print(json.dumps({"seconds": seconds, "docs": int(vectors.shape[0])}), flush=True)
        elif cmd[0] == "dump":
            sample = json.loads(cmd[2])
            vectors = encode([texts[i] for i in sample])
            dense = vectors.to_dense().float().cpu()
            rows = []
            for r in range(dense.shape[0]):
                nz = torch.nonzero(dense[r]).flatten()
                rows.append({"indices": nz.tolist(), "values": dense[r, nz].tolist()})
            with open(cmd[1], "w", encoding="utf-8") as f:
                json.dump(rows, f)
            print(json.dumps({"dumped": len(rows)}), flush=True)
        elif cmd[0] == "quit":
            break
        else:
            print(json.dumps({"error": f"unknown command {cmd[0]}"}), flush=True)


if __name__ == "__main__":
    main()
