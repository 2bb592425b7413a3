#!/usr/bin/env bash
# Prepares bench/work/gpu-carry (git-ignored): what a bare GPU machine without network needs for
# scripts/gpu-check.sh beyond the repository and its own python3 (torch, transformers, sentence-transformers):
#   node.xz               this machine's Node binary (x86-64 Linux), for the addon's JS API (device, p2, p3)
#   node_modules.tar.xz   the runtime packages (no typescript/mocha/@types; tokenizers' linux-x64-gnu binary only)
#   dist.tar.xz           the compiled TypeScript (npx tsc -p tsconfig.json first; built here when missing)
#   data/bert-base-uncased/{tokenizer.json,vocab.txt}, data/scifact/corpus.jsonl (first $P3_DOCS docs)
# Model weights are not carried: scripts/bench/p2-setup.py and p3-make-model.py regenerate them from their seeds.
# The folder must stay under the device tool's 64 MiB (with the tracked tree): the script prints its size and
# fails above $MAX_MB.
#   bash scripts/gpu-carry.sh        then, with the device tool: carry ["bench/work/gpu-carry"]
# Env: DATA (default ../shared/data, or $L0SPARSE_SHARED_DATA), P3_DOCS (default 1024), MAX_MB (default 52).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-${L0SPARSE_SHARED_DATA:-$PWD/../shared/data}}
P3_DOCS=${P3_DOCS:-1024}
MAX_MB=${MAX_MB:-52}
CARRY=bench/work/gpu-carry
rm -rf "$CARRY"
mkdir -p "$CARRY/data/bert-base-uncased" "$CARRY/data/scifact"

[ -f dist/lib/index.js ] || node node_modules/typescript/bin/tsc -p tsconfig.json
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$CARRY/node.xz"
tar -C . -cJf "$CARRY/dist.tar.xz" dist
# node_modules may be a link to a shared checkout: -h follows it. Only what runs (device-check.js, p2, p3, the
# addon build's headers); the tokenizers package keeps the one binary this machine kind loads.
tar -C . -chJf "$CARRY/node_modules.tar.xz" \
  --exclude='node_modules/typescript' --exclude='node_modules/@types' --exclude='node_modules/mocha' \
  --exclude='node_modules/prebuildify' \
  --exclude='node_modules/.cache' \
  --exclude='node_modules/tokenizers/tokenizers.[a-km-z]*.node' \
  --exclude='node_modules/tokenizers/tokenizers.linux-arm*.node' \
  --exclude='node_modules/tokenizers/tokenizers.linux-x64-musl.node' \
  node_modules
cp "$DATA/bert-base-uncased/tokenizer.json" "$DATA/bert-base-uncased/vocab.txt" "$CARRY/data/bert-base-uncased/"
head -n "$P3_DOCS" "$DATA/scifact/corpus.jsonl" >"$CARRY/data/scifact/corpus.jsonl"
git rev-parse HEAD >"$CARRY/commit.txt"

size_kb=$(du -sk "$CARRY" | cut -f1)
tree_kb=$(git ls-files -z | du -ck --files0-from=- | tail -1 | cut -f1)
echo "gpu-carry: $CARRY is $((size_kb / 1024)) MiB (+ $((tree_kb / 1024)) MiB tracked tree); contents:"
du -sh "$CARRY"/* "$CARRY"/data/*/* | sed 's/^/  /'
if [ $((size_kb / 1024)) -gt "$MAX_MB" ]; then
  echo "gpu-carry: over $MAX_MB MiB: the device tool takes 64 MiB with the tree" >&2
  exit 1
fi
