import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Command } from 'commander';

import { register as registerBm25 } from '../../lib/cli/commands/bm25';
import { register as registerEval } from '../../lib/cli/commands/eval';
import { sharedData } from '../helpers';

/** Runs one command of a program holding only our commands, returning what it wrote to stdout. */
async function runCli(args: string[]): Promise<string> {
  const program = new Command('l0sparse').exitOverride();
  registerEval(program);
  registerBm25(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'l0sparse', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('CLI: eval and bm25', () => {
  const data = sharedData();

  it('eval --trec-eval prints exactly trec_eval\'s default output', async function () {
    if (!data) { console.log('    skipped: shared/data not found'); this.skip(); }
    const dir = path.join(data!, 'trec_eval-reference');
    const out = await runCli(['eval', '--qrels', path.join(dir, 'qrels.test'), '--run', path.join(dir, 'results.test'), '--metrics', 'official', '--trec-eval']);
    assert.strictEqual(out, fs.readFileSync(path.join(dir, 'out.test'), 'utf8'));
  });

  it('bm25 writes a TREC run that eval scores the same, on a small BEIR folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-bm25-cli-'));
    fs.mkdirSync(path.join(dir, 'qrels'));
    fs.writeFileSync(path.join(dir, 'corpus.jsonl'), [
      { _id: 'd1', title: 'Cats', text: 'Cats purr when they are happy.' },
      { _id: 'd2', title: 'Dogs', text: 'Dogs bark at strangers.' },
      { _id: 'd3', title: 'Birds', text: 'Birds sing; cats watch birds.' },
    ].map((d) => JSON.stringify(d)).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"why do cats purr"}\n{"_id":"q2","text":"barking dog"}\n');
    fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n');
    const runFile = path.join(dir, 'run.trec');
    const report = JSON.parse(await runCli(['bm25', '--data', dir, '--out', runFile, '--json', '--no-progress', '--metrics', 'ndcg@10,mrr@10']));
    assert.strictEqual(report.documents, 3);
    assert.deepStrictEqual(report.metrics, { ndcg_cut_10: 1, recip_rank_cut_10: 1 });
    const lines = fs.readFileSync(runFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
    assert.deepStrictEqual(lines.map((l) => [l[0], l[2], l[3]]), [['q1', 'd1', '1'], ['q1', 'd3', '2'], ['q2', 'd2', '1']]);
    const scored = JSON.parse(await runCli(['eval', '--qrels', dir, '--run', runFile, '--metrics', 'ndcg@10,mrr@10', '--json']));
    assert.deepStrictEqual(scored.summary, report.metrics);
  });
});
