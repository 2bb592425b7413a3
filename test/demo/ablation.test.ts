/** The ℓ0 ablation (`l0sparse sweep`, lib/sweep/ablation.ts): thresholds from quantiles, the query split, the dominance rule, a tiny resumable run. */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readBeirQrels } from '../../lib/data/beir';
import { nnzQuantiles } from '../../lib/demo/run-demo';
import { checkQuantiles, runAblation, thresholdAt, type AblationRow } from '../../lib/sweep/ablation';
import { dominance } from '../../lib/sweep/ablation-chart';
import { splitQueriesInHalf } from '../../lib/sweep/query-split';
import { sharedData } from '../helpers';
import { miniScifact } from './mini-scifact';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-ablation-'));

describe('ablation (l0sparse sweep)', function () {
  this.timeout(300_000);

  it('puts t at nearest-rank quantiles of the documents\' nonzero counts', () => {
    // 10 documents with 1..10 nonzeros, in scrambled order.
    const lengths = [7, 1, 10, 3, 5, 2, 9, 4, 8, 6];
    const indptr = Int32Array.from([0, ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
    const q = nnzQuantiles(indptr);
    assert.equal(q.length, 21);
    assert.equal(q[0], 1);
    assert.equal(q[20], 10);
    assert.equal(thresholdAt(q, 0.25), 3, 'ceil(2.5) = 3rd smallest');
    assert.equal(thresholdAt(q, 0.5), 5);
    assert.equal(thresholdAt(q, 0.75), 8, 'ceil(7.5) = 8th smallest');
    // t at quantile q exempts (nnz ≤ t) at least a share q of the documents, and t - 1 exempts less.
    for (const share of [0.25, 0.5, 0.75]) {
      const t = thresholdAt(q, share);
      assert.ok(lengths.filter((n) => n <= t).length >= share * 10 && lengths.filter((n) => n <= t - 1).length < share * 10);
    }
    assert.throws(() => checkQuantiles([0.33]), /multiple of 0.05/);
    assert.throws(() => checkQuantiles([1]), /in \(0, 1\)/);
    checkQuantiles([0.25, 0.5, 0.75]);
  });

  it('splits the judged queries of a test-only collection in seeded, disjoint halves', async function () {
    const shared = sharedData();
    if (!shared) this.skip();
    const out = tmp();
    const a = await splitQueriesInHalf(path.join(shared!, 'cranfield'), path.join(out, 'a'), 13);
    const b = await splitQueriesInHalf(path.join(shared!, 'cranfield'), path.join(out, 'b'), 13);
    const c = await splitQueriesInHalf(path.join(shared!, 'cranfield'), path.join(out, 'c'), 14);
    const all = await readBeirQrels(path.join(shared!, 'cranfield', 'qrels', 'test.tsv'));
    const train = await readBeirQrels(path.join(a.dir, 'qrels', 'train.tsv'));
    const test = await readBeirQrels(path.join(a.dir, 'qrels', 'test.tsv'));
    assert.equal(train.size + test.size, [...all].filter(([, d]) => [...d.values()].some((r) => r > 0)).length);
    assert.ok(Math.abs(train.size - test.size) <= 1);
    for (const q of train.keys()) assert.ok(!test.has(q), `query ${q} in both halves`);
    for (const [q, docs] of train) assert.deepEqual([...docs], [...all.get(q)!], 'judgments copied whole');
    assert.equal(fs.readFileSync(path.join(a.dir, 'qrels', 'train.tsv'), 'utf8'), fs.readFileSync(path.join(b.dir, 'qrels', 'train.tsv'), 'utf8'));
    assert.notEqual(fs.readFileSync(path.join(a.dir, 'qrels', 'train.tsv'), 'utf8'), fs.readFileSync(path.join(c.dir, 'qrels', 'train.tsv'), 'utf8'));
    assert.ok(fs.existsSync(path.join(a.dir, 'corpus.jsonl')));
  });

  it('calls a family dominant at a cost only when its worst seed beats the best rival seed', () => {
    const row = (family: AblationRow['family'], lambda: number, seed: number, ndcg10: number, flops: number): AblationRow =>
      ({ dataset: 'x', family, lambda, quantile: family === 'flops' ? undefined : 0.5, k: 0, seed, ndcg10, recall100: 0, flops, doc_nnz: 0 });
    const rows = [
      row('flops', 0.01, 1, 0.50, 2.0), row('flops', 0.01, 2, 0.52, 2.2),
      row('l0_mask', 0.01, 1, 0.55, 2.1), row('l0_mask', 0.01, 2, 0.56, 2.0),   // beats both flops seeds at ≤ 10% more FLOPS
      row('l0_mask', 0.1, 1, 0.40, 0.5), row('l0_mask', 0.1, 2, 0.60, 0.6),    // cheaper than any flops point: nothing to compare
    ];
    const lines = dominance(rows);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /^ℓ0 mask \(λ=0.01 q=0.5, FLOPS 2.050\) dominates FLOPS only at that cost: worst seed 0.5500 > best seed 0.5200/);
    // Overlapping seeds: no dominance.
    rows[1].ndcg10 = 0.555;
    assert.deepEqual(dominance(rows), ['no family dominates another at any FLOPS level: at every cost the seeds of the families overlap']);
  });

  it('runs a tiny grid end to end, writes ablation.json, and a rerun resumes without training again', async function () {
    const shared = sharedData();
    if (!shared) this.skip();
    const dir = tmp();
    const data = path.join(dir, 'mini');
    miniScifact(path.join(shared!, 'scifact'), data, 12, 10, 60);
    const options = {
      datasets: [{ name: 'mini', dir: data, split: 'given' as const }], out: path.join(dir, 'out'),
      tokenizer: path.join(shared!, 'bert-base-uncased', 'vocab.txt'), steps: 2, dim: 16, layers: 1, maxLength: 48, queriesPerStep: 4,
      lambdas: [0.01], quantiles: [0.5], ks: [1], seeds: [1], splitSeed: 13, pretrainSteps: 2, progress: false, log: () => undefined,
    };
    const rows = await runAblation(options);
    assert.deepEqual(rows.map((r) => r.family), ['bm25_word', 'bm25_wordpiece', 'flops', 'l0_mask', 'l0_mask_act']);
    const [flops, mask, act] = rows.slice(2);
    assert.equal(flops.threshold, -1);
    const demo = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'points', 'mini', 'flops-l0.01-s1', 'demo.json'), 'utf8')) as { docNnzQuantiles: number[] };
    assert.equal(mask.threshold, demo.docNnzQuantiles[10], 't = the FLOPS-only model\'s median document nonzeros');
    assert.equal(act.threshold, mask.threshold);
    assert.equal(act.k, 1);
    for (const r of rows) for (const key of ['ndcg10', 'recall100', 'flops', 'doc_nnz'] as const) assert.ok(Number.isFinite(r[key]), `${r.family} ${key}`);
    // Pretrained once for the dataset; every point trained from that model.
    const pretrained = path.join(dir, 'out', 'pretrain', 'mini', 'pretrain', 'model');
    assert.ok(fs.existsSync(path.join(pretrained, 'model.safetensors')));
    const pointConfig = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'points', 'mini', 'l0_mask-l0.01-q0.5-s1', 'run', 'train-config.json'), 'utf8')) as { init: string };
    assert.equal(pointConfig.init, path.resolve(pretrained));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'ablation.json'), 'utf8')) as AblationRow[];
    assert.deepEqual(json, JSON.parse(JSON.stringify(rows)));
    assert.ok(fs.existsSync(path.join(dir, 'out', 'ablation-mini.png')) && fs.existsSync(path.join(dir, 'out', 'ablation.md')));
    // Resume: every point is read back, none trains again (the run folders' logs do not grow).
    const log = path.join(dir, 'out', 'points', 'mini', 'flops-l0.01-s1', 'run', 'train-log.jsonl');
    const before = fs.statSync(log).size;
    const again = await runAblation(options);
    assert.deepEqual(again, rows);
    assert.equal(fs.statSync(log).size, before);
  });
});
