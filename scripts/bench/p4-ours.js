#!/usr/bin/env node
'use strict';
// Our side of benchmark P4, driven by scripts/bench/p4-search.js with the same commands as P4Lucene:
//   node scripts/bench/p4-ours.js <workdir> [index file name]   (loads <workdir>/index.l0idx and queries.csr)
//   run <threads> [auto|maxscore|exhaustive] | lat <file> [algorithm] | dump <file> | rss | quit
// lat: each query searched alone (one search() call, one thread), one ns value per line.
const path = require('path');
const readline = require('readline');
const fs = require('fs');

const lib = require(path.resolve(__dirname, '..', '..', 'dist', 'lib', 'index.js'));

async function main() {
  const dir = process.argv[2];
  new lib.SparseIndex(1);  // loads the addon (and LibTorch) first: the open time is the index's alone
  const t0 = process.hrtime.bigint();
  // Several comma-separated names: shard files searched as one (ShardedIndex; no dump then).
  const names = (process.argv[3] || 'index.l0idx').split(',');
  const index = names.length > 1 ? await lib.ShardedIndex.load(names.map((n) => path.join(dir, n)))
    : await lib.SparseIndex.load(path.join(dir, names[0]));
  const loadNs = process.hrtime.bigint() - t0;
  const { csr, ids } = lib.readCsrFileAll(path.join(dir, 'queries.csr'));
  const docs = names.length > 1 ? index.shards.reduce((a, s) => a + s.stats().docs, 0) : index.stats().docs;
  process.stdout.write(`ready ${docs} ${ids.length} load_ns ${loadNs}\n`);
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, arg, algorithm = 'auto'] = line.trim().split(' ');
    if (cmd === 'run') {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await index.search(csr, 10, { threads: Number(arg), algorithm });
      const elapsed = process.hrtime.bigint() - t0;
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(`ns ${elapsed} cpu_ns ${(cpu.user + cpu.system) * 1000}\n`);
    } else if (cmd === 'lat') {
      // One query per call: rows sliced once up front so that the timing holds the search alone.
      const single = [];
      for (let q = 0; q < ids.length; q++) {
        const b = csr.indptr[q], e = csr.indptr[q + 1];
        single.push({ indptr: Int32Array.from([0, e - b]), indices: csr.indices.slice(b, e), values: csr.values.slice(b, e), numCols: csr.numCols });
      }
      let out = '';
      for (const query of single) {
        const q0 = process.hrtime.bigint();
        await index.search(query, 10, { threads: 1, algorithm });
        out += `${process.hrtime.bigint() - q0}\n`;
      }
      fs.writeFileSync(arg, out);
      process.stdout.write('ok\n');
    } else if (cmd === 'dump') {
      const res = await index.search(csr, 10, { threads: 1 });
      let out = '';
      for (let q = 0; q < ids.length; q++) {
        for (let r = 0; r < 10; r++) {
          const d = res.docIndices[q * 10 + r];
          if (d >= 0) out += `${ids[q]} ${r + 1} ${d} ${res.scores[q * 10 + r]}\n`;
        }
      }
      fs.writeFileSync(arg, out);
      process.stdout.write('ok\n');
    } else if (cmd === 'rss') {
      process.stdout.write(`rss_kb ${process.resourceUsage().maxRSS}\n`);
    } else if (cmd === 'quit') {
      rl.close();
      return;
    }
  }
}

main().catch((e) => {
  process.stderr.write(`p4-ours: ${e.stack}\n`);
  process.exit(1);
});
