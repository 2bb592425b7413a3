"""Trains the project's own WordPiece vocabulary on the BEIR SciFact corpus (title + " " + text, as the
demo indexes it), with Hugging Face `tokenizers` (BertWordPieceTokenizer: BERT normalisation, lowercase,
strip accents, the five BERT special tokens first).

    python3 scripts/demo/train-scifact-vocab.py ../shared/data/scifact/corpus.jsonl 16384 assets/scifact-wordpiece-16k.txt
"""
import json
import os
import sys
import tempfile

from tokenizers import BertWordPieceTokenizer

corpus, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
texts = []
with open(corpus, encoding="utf-8") as f:
    for line in f:
        doc = json.loads(line)
        texts.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())
tok = BertWordPieceTokenizer(lowercase=True, strip_accents=True, clean_text=True, handle_chinese_chars=True)
tok.train_from_iterator(texts, vocab_size=size, min_frequency=2, limit_alphabet=1000,
                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], wordpieces_prefix="##")
with tempfile.TemporaryDirectory() as tmp:
    written = tok.save_model(tmp)[0]
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    os.replace(written, out)
print(f"{out}: {tok.get_vocab_size()} tokens")
