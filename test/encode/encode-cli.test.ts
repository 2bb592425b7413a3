import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { buildProgram } from '../../lib/cli/main';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { sharedData } from '../helpers';
import { hfModelDir, tempDir } from '../model/fixture-dirs';
import { RawDoc, csrFileVectors, directVectors, jsonlFileVectors, maxRelativeDiff, sciFactDocs, writeCorpus } from './corpus-fixture';

/** Runs the CLI in this process and returns what it printed on stdout. */
async function cli(args: string[]): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => { out += chunk.toString(); return true; }) as typeof process.stdout.write;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'l0sparse', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('cli: l0sparse encode', function () {
  const data = sharedData();
  let work: string;
  let modelDir: string;
  let encoder: SparseEncoder;
  let docs: RawDoc[];
  let beir: string;

  before(async function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    work = tempDir('encode-cli');
    modelDir = hfModelDir(data!, 'distilbert', path.join(work, 'model'));
    encoder = await SparseEncoder.load(modelDir);
    docs = sciFactDocs(data!, 24);
    beir = path.join(work, 'beir');
    writeCorpus(path.join(beir, 'corpus.jsonl'), docs);
  });
  after(() => {
    encoder?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('encodes a BEIR folder into CSR + JSONL and reports JSON; a rerun needs --resume', async () => {
    const out = path.join(work, 'run', 'v.csr');
    const jsonl = path.join(work, 'run', 'v.jsonl');
    const args = ['encode', '--model', modelDir, '--data', beir, '--out', out, '--jsonl', jsonl, '--batch-size', '4', '--max-length', '24',
      '--prune', 'top_k:16', '--keep-special-tokens', '--no-progress', '--json'];
    const report = JSON.parse(await cli(args)) as { docs: number; complete: boolean; settings: { maxLength: number; zeroSpecialTokens: boolean }; nnz: { max: number } };
    assert.deepEqual([report.docs, report.complete, report.settings.maxLength, report.settings.zeroSpecialTokens, report.nnz.max], [24, true, 24, false, 16]);
    const csr = csrFileVectors(out);
    const fromJsonl = await jsonlFileVectors(jsonl, encoder);
    assert.equal(maxRelativeDiff(fromJsonl.map, csr.map), 0);
    // Truth for pruned vectors: the 16 heaviest of the direct encoding keep their exact weights.
    const truth = await directVectors(encoder, docs, { zeroSpecialTokens: false, maxLength: 24 });
    for (const [id, row] of csr.map) {
      const want = truth.get(id)!;
      let kept = 0;
      for (let c = 0; c < row.length; c++) if (row[c] > 0) { kept++; assert.ok(Math.abs(row[c] - want[c]) <= 1e-6 * Math.max(1, want[c])); }
      const sorted = Float32Array.from(want).sort().reverse();
      assert.equal(kept, Math.min(16, sorted.filter((w) => w > 0).length));
      for (let c = 0; c < row.length; c++) if (row[c] > 0) assert.ok(want[c] >= sorted[15], `${id}: kept column ${c} is not among the 16 heaviest`);
    }
    await assert.rejects(cli(args), /v\.csr exists: resume the run .*--resume/);
    const again = JSON.parse(await cli([...args, '--resume'])) as { docs: number; encodedDocs: number };
    assert.deepEqual([again.docs, again.encodedDocs], [24, 0]);
  });

  it('skips malformed lines with --on-bad-line skip and fails on them by default', async () => {
    const file = path.join(work, 'bad', 'corpus.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, [JSON.stringify(docs[0]), 'not json', JSON.stringify(docs[1])].join('\n') + '\n');
    const warn = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let text: string;
    try {
      text = await cli(['encode', '--model', modelDir, '--data', file, '--out', path.join(work, 'bad', 'v.csr'), '--on-bad-line', 'skip', '--no-progress']);
    } finally {
      process.stderr.write = warn;
    }
    assert.match(text, /encoded 2 documents/);
    assert.match(text, /skipped 1 malformed corpus lines/);
    await assert.rejects(cli(['encode', '--model', modelDir, '--data', file, '--out', path.join(work, 'bad', 'w.csr'), '--no-progress']),
      /corpus\.jsonl:2: invalid JSON/);
    await assert.rejects(cli(['encode', '--model', modelDir, '--data', file, '--out', path.join(work, 'bad', 'x.csr'), '--on-bad-line', 'ignore']),
      /--on-bad-line must be fail or skip/);
  });
});
