import { strict as assert } from 'assert';

import { formatSweepTable, sweepGrid, type SweepOptions } from '../../lib/sweep/run-sweep';

describe('sweep grid', () => {
  const o: SweepOptions = {
    out: '/tmp/x', steps: 1, dim: 8, layers: 1, maxLength: 16, queriesPerStep: 2,
    lambdas: [0.001, 0.01], thresholds: [50, 200], ks: [1, 2], lambda: 0.01, threshold: 200,
  };
  it('has the three families of the paper with their settings', () => {
    const g = sweepGrid(o);
    assert.equal(g.length, 6);
    assert.deepEqual(g.filter((p) => p.family === 'FLOPS only').map((p) => [p.lambda, p.threshold, p.activation]), [[0.001, -1, 'relu'], [0.01, -1, 'relu']]);
    assert.deepEqual(g.filter((p) => p.family === 'l0 mask').map((p) => [p.lambda, p.threshold, p.activation]), [[0.01, 50, 'relu'], [0.01, 200, 'relu']]);
    assert.deepEqual(g.filter((p) => p.family === 'l0 mask + l0 activation').map((p) => [p.threshold, p.activation, p.k]), [[200, 'l0', 1], [200, 'l0', 2]]);
  });
  it('formats a table row per point', () => {
    const pts = sweepGrid(o).map((p, i) => ({ ...p, ndcg10: 0.5 + i / 100, recall100: 0.8, flops: 1 + i, meanDocNnz: 100, indexBytes: 2048, latencyMs: 0.1, trainSeconds: 1, pareto: i === 5 }));
    const lines = formatSweepTable({ bm25: [], points: pts }).split('\n');
    assert.equal(lines.length, 2 + 6);
    assert.match(lines.at(-1)!, /l0, k=2 \| 0\.5500 .* yes \|$/);
  });
});
