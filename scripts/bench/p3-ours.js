#!/usr/bin/env node
'use strict';
// Benchmark P3 worker for l0sparse: loads the P3 checkpoint once and answers commands on stdin, one per line,
// so that scripts/bench/p3-encode.js can interleave it with the sentence-transformers worker:
//   warm <n>   encodeCorpus on the first n documents (not timed)
//   run        encodeCorpus on the whole corpus file into <work>/ours.csr, prints {"seconds": ...}
//   quit
// A timed run is the whole pipeline: reading corpus.jsonl, tokenizing, native encoding, writing the CSR file
// (fsynced per batch, progress record per batch). No pruning; special tokens kept (as sentence-transformers).
//   node scripts/bench/p3-ours.js <model dir> <corpus.jsonl> <work dir> <threads> <max length> <batch size> [dtype] [tag] [device]
// dtype: auto | float32 | bfloat16, or 'default' (the library's default: L0SPARSE_ENCODE_DTYPE, else float32).
// tag names the output file (<work>/ours-<tag>.csr; default ours.csr).
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const ROOT = path.resolve(__dirname, '..', '..');
const { SparseEncoder, encodeCorpus, setNumThreads, readBeirCorpus, documentText, gemmBackend } = require(path.join(ROOT, 'dist', 'lib', 'index.js'));

async function main() {
  const [modelDir, corpus, work, threads, maxLength, batchSize, dtypeArg = 'default', tag = '', device = 'cpu'] = process.argv.slice(2);
  const csrFile = path.join(work, tag ? `ours-${tag}.csr` : 'ours.csr');
  const warmFile = path.join(work, tag ? `ours-warm-${tag}.csr` : 'ours-warm.csr');
  setNumThreads(Number(threads));
  const encoder = await SparseEncoder.load(modelDir, { device });
  const settings = { maxLength: Number(maxLength), batchSize: Number(batchSize), zeroSpecialTokens: false, progress: false, mode: 'overwrite',
    dtype: dtypeArg === 'default' ? undefined : dtypeArg };
  const dtype = encoder.resolveDtype(settings.dtype);
  const docs = [];
  for await (const d of readBeirCorpus(corpus)) docs.push({ id: d.id, text: documentText(d) });
  const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  say({ ready: true, maxLength: settings.maxLength, dtype, gemm: gemmBackend(), device: encoder.device });
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    const cmd = line.trim().split(/\s+/);
    if (cmd[0] === 'warm') {
      await encodeCorpus(encoder, docs.slice(0, Number(cmd[1])), { ...settings, outputs: { csr: warmFile } });
      say({ warm: true });
    } else if (cmd[0] === 'run') {
      const start = process.hrtime.bigint();
      const report = await encodeCorpus(encoder, corpus, { ...settings, outputs: { csr: csrFile } });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      say({ seconds, docs: report.docs, reportedSeconds: report.seconds });
    } else if (cmd[0] === 'quit') {
      break;
    } else if (cmd[0]) {
      say({ error: `unknown command ${cmd[0]}` });
    }
  }
  lines.close();
  encoder.dispose();
  fs.rmSync(warmFile, { force: true });
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
