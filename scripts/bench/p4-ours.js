#!/usr/bin/env node
'use strict';
// Our side of benchmark P4, driven by scripts/bench/p4-search.js with the same commands as P4Lucene:
//   node scripts/bench/p4-ours.js <workdir>    (loads <workdir>/index.l0idx and queries.csr)
//   run <threads> [auto|maxscore|exhaustive] | dump <file> | rss | quit
const path = require('path');
const readline = require('readline');
const fs = require('fs');

const lib = require(path.resolve(__dirname, '..', '..', 'dist', 'lib', 'index.js'));

async function main() {
  const dir = process.argv[2];
  const index = await lib.SparseIndex.load(path.join(dir, 'index.l0idx'));
  const { csr, ids } = lib.readCsrFileAll(path.join(dir, 'queries.csr'));
  process.stdout.write(`ready ${index.stats().docs} ${ids.length}\n`);
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
