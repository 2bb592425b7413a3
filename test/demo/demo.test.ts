import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEMO_DEFAULTS, demoDatasetName, demoTradeoffChart, formatDemoReport, formatDemoTable, runDemo, type SystemRow } from '../../lib/demo/run-demo';
import { bm25Vectors } from '../../lib/demo/bm25-impacts';
import { fileMd5, resolveScifact, unzip } from '../../lib/demo/scifact-data';
import { pngSize } from '../../lib/plot';
import { ablationChart } from '../../lib/sweep/ablation-chart';
import { sharedData } from '../helpers';
import { miniScifact } from './mini-scifact';


describe('demo', function () {
  this.timeout(240_000);
  const shared = sharedData();
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-demo-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('BM25 vectors give the BM25 score as a dot product', () => {
    const v = bm25Vectors([['a', 'b', 'a'], ['b', 'c']], [['a', 'b', 'z']], { k1: 0.9, b: 0.4 });
    const idf = (df: number) => Math.log(1 + (2 - df + 0.5) / (df + 0.5));
    const avgdl = 2.5;
    const w = (tf: number, dl: number, df: number) => idf(df) * tf / (tf + 0.9 * (1 - 0.4 + 0.4 * dl / avgdl));
    const score = (d: number) => {
      let s = 0;
      for (let j = v.docs.indptr[d]; j < v.docs.indptr[d + 1]; j++) {
        for (let i = v.queries.indptr[0]; i < v.queries.indptr[1]; i++) if (v.queries.indices[i] === v.docs.indices[j]) s += v.queries.values[i] * v.docs.values[j];
      }
      return s;
    };
    assert.ok(Math.abs(score(0) - (w(2, 3, 1) + w(1, 3, 2))) < 1e-6);
    assert.ok(Math.abs(score(1) - w(1, 2, 2)) < 1e-6);
    assert.equal(v.queries.indptr[1], 2, 'the term missing from the corpus is dropped');
  });

  it('names the dataset after its folder (or --name) in titles and tables, not SciFact', () => {
    const dir = path.join(shared ?? '/data', 'cranfield');
    assert.equal(demoDatasetName({ data: dir }), 'cranfield');
    assert.equal(demoDatasetName({ data: `${dir}/` }), 'cranfield');
    assert.equal(demoDatasetName({ data: dir, name: 'Cranfield 1400' }), 'Cranfield 1400');
    assert.equal(demoDatasetName({}), 'SciFact', 'the demo\'s own data when no folder is given');
    const rows: SystemRow[] = [
      { system: 'BM25 (word, Anserini analysis)', ndcg10: 0.3, recall100: 0.6, flops: 1, meanDocNnz: 50, meanQueryNnz: 5, indexBytes: 4096, latencyMs: 0.1 },
      { system: 'l0 model (D=64, 1L, 150 steps)', ndcg10: 0.25, recall100: 0.5, flops: 3, meanDocNnz: 90, meanQueryNnz: 5, indexBytes: 8192, latencyMs: 0.2 },
    ];
    const chart = demoTradeoffChart(rows, { dataset: demoDatasetName({ data: dir }), documents: 1400, queries: 225 }) as unknown as { title: { text: string } };
    assert.equal(chart.title.text, 'cranfield test: quality vs cost');
    assert.match(JSON.stringify(chart), /nDCG@10 \(cranfield test\)/);
    const report = formatDemoReport({ data: { name: 'cranfield', dir, source: 'given', documents: 1400, testQueries: 225 }, rows });
    assert.equal(report.split('\n')[0], 'cranfield test (225 queries, 1400 documents)');
    const o = { dim: 64, layers: 1, steps: 60, seeds: [1] };
    const sweep = ablationChart([], 'vaswani-npl', o) as unknown as { title: { text: string } };
    assert.equal(sweep.title.text, 'ℓ0 ablation on vaswani-npl');
    for (const text of [JSON.stringify(chart), report, JSON.stringify(sweep)]) assert.doesNotMatch(text, /SciFact/i);
  });

  it('unzips an archive and uses a given or local folder before downloading', async function () {
    // A real zip: the mini dataset packed by the system's zip tool when present.
    if (!shared) this.skip();
    const mini = path.join(tmp, 'zipsrc', 'scifact');
    miniScifact(path.join(shared!, 'scifact'), mini, 3, 3, 5);
    const { execFileSync } = await import('child_process');
    try { execFileSync('zip', ['-qr', path.join(tmp, 'mini.zip'), 'scifact'], { cwd: path.join(tmp, 'zipsrc') }); } catch { this.skip(); }
    await unzip(path.join(tmp, 'mini.zip'), path.join(tmp, 'unzipped'));
    assert.equal(fs.readFileSync(path.join(tmp, 'unzipped', 'scifact', 'corpus.jsonl'), 'utf8'), fs.readFileSync(path.join(mini, 'corpus.jsonl'), 'utf8'));
    assert.match(await fileMd5(path.join(tmp, 'mini.zip')), /^[0-9a-f]{32}$/);
    assert.deepEqual(await resolveScifact({ data: mini }), { dir: path.resolve(mini), source: 'given' });
    assert.deepEqual(await resolveScifact({ localCandidates: [mini] }), { dir: mini, source: 'local' });
    await assert.rejects(resolveScifact({ data: tmp }), /not a BEIR folder/);
  });

  it('pretrains on the corpus first when asked, and trains from that model', async function () {
    if (!shared) this.skip();
    const data = path.join(tmp, 'mini-pt');
    miniScifact(path.join(shared!, 'scifact'), data, 8, 6, 30);
    const out = path.join(tmp, 'out-pt');
    const r = await runDemo({
      ...DEMO_DEFAULTS, data, out, tokenizer: path.join(shared!, 'bert-base-uncased', 'vocab.txt'), pretrainSteps: 2,
      steps: 2, dim: 16, layers: 1, maxLength: 48, queriesPerStep: 4, baselines: false, plots: false, progress: false, log: () => undefined,
    });
    assert.equal(r.rows.at(-1)!.system, 'l0 model (D=16, 1L, MLM-pretrained 2 steps, 2 steps)');
    assert.equal(r.config.train.init, path.resolve(out, 'pretrain', 'model'));
    assert.ok(fs.existsSync(path.join(out, 'pretrain', 'checkpoints', 'step-00000002')));
    assert.ok(r.seconds.pretrain > 0);
  });

  it('runs the whole pipeline on a tiny configuration: table, JSON and plots agree', async function () {
    if (!shared) this.skip();
    const data = path.join(tmp, 'mini');
    miniScifact(path.join(shared!, 'scifact'), data, 24, 20, 150);
    const out = path.join(tmp, 'out');
    const r = await runDemo({
      ...DEMO_DEFAULTS, data, out, tokenizer: path.join(shared!, 'bert-base-uncased', 'vocab.txt'), pretrainSteps: 0,
      steps: 4, dim: 32, layers: 1, maxLength: 64, queriesPerStep: 4, evalEvery: 2, holdOut: 4, curveCorpus: 60,
      progress: false, log: () => undefined,
    });
    assert.equal(r.rows.length, 3);
    assert.deepEqual(r.rows.map((x) => x.system.split(' ')[0]), ['BM25', 'BM25', 'l0']);
    for (const row of r.rows) {
      for (const k of ['ndcg10', 'recall100', 'flops', 'meanDocNnz', 'latencyMs'] as const) assert.ok(Number.isFinite(row[k]) && row[k] >= 0, `${row.system} ${k}`);
      assert.ok(row.ndcg10 <= 1 && row.recall100 <= 1);
      assert.ok(row.indexBytes > 0);
    }
    assert.ok(r.rows[0].ndcg10 > 0.3, `BM25 on the mini corpus: ${r.rows[0].ndcg10}`);
    const json = JSON.parse(fs.readFileSync(r.files.json, 'utf8')) as typeof r;
    assert.deepEqual(json.rows, r.rows);
    assert.equal(json.training.steps, 4);
    const steps = json.training.curve.map((c) => c.step);
    assert.ok(steps.includes(2) && steps.at(-1) === 4, `curve steps ${steps}`);
    // The mini SciFact cut lives in a folder named 'mini': that is the name everywhere.
    assert.equal(r.data.name, 'mini');
    assert.equal(json.data.name, 'mini');
    assert.equal(fs.readFileSync(r.files.table, 'utf8').trim(), `mini test (${r.data.testQueries} queries, ${r.data.documents} documents)\n\n${formatDemoTable(r.rows)}`);
    assert.equal(formatDemoReport(r), fs.readFileSync(r.files.table, 'utf8').trim());
    // The model's row is what the trained model retrieves: its index holds every corpus document.
    assert.equal(fs.statSync(path.join(out, 'model.index')).size, r.rows[2].indexBytes);
    for (const f of [r.files.tradeoffPng, r.files.curvePng]) {
      const size = pngSize(fs.readFileSync(f));
      assert.ok(size.width >= 400 && size.height >= 300, `${f}: ${size.width}x${size.height}`);
    }
    const svg = fs.readFileSync(r.files.tradeoffSvg, 'utf8');
    assert.match(svg, /BM25/);
    assert.match(svg, /mini test: quality vs cost/);
    assert.doesNotMatch(svg, /SciFact/);
  });
});
