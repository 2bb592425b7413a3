import { strict as assert } from 'assert';

import { isParetoOptimal, pngSize, renderVegaLite, tradeoffChart, trainingCurveChart } from '../../lib/plot';

describe('plot', function () {
  this.timeout(60_000);
  it('renders the trade-off chart to SVG with its labels and to a PNG of the stated size', async () => {
    const chart = await renderVegaLite(tradeoffChart([
      { label: 'BM25', series: 'BM25', flops: 3.1, ndcg10: 0.679 },
      { label: 'λ=1e-3', series: 'l0 mask', flops: 1.2, ndcg10: 0.61 },
      { label: 'λ=1e-2', series: 'l0 mask', flops: 0.4, ndcg10: 0.55 },
    ], { title: 'test chart' }));
    assert.match(chart.svg, /<svg/);
    assert.match(chart.svg, /test chart/);
    assert.match(chart.svg, /nDCG@10/);
    assert.deepEqual(pngSize(chart.png), { width: chart.width, height: chart.height });
    assert.ok(chart.width > 600 && chart.height > 400);
    assert.ok(chart.png.length > 5000, 'a real picture, not an empty canvas');
  });

  it('renders a training curve', async () => {
    const chart = await renderVegaLite(trainingCurveChart([
      { step: 0, value: 0.2, series: 'a' }, { step: 10, value: 0.4, series: 'a' },
    ], [{ label: 'BM25', value: 0.5 }]));
    assert.ok(pngSize(chart.png).width > 300);
  });

  it('finds the Pareto-optimal points', () => {
    const pts = [{ flops: 1, ndcg10: 0.5 }, { flops: 2, ndcg10: 0.6 }, { flops: 3, ndcg10: 0.55 }, { flops: 1, ndcg10: 0.4 }];
    assert.deepEqual(pts.map((p) => isParetoOptimal(p, pts)), [true, true, false, false]);
  });

  it('rejects bytes that are not a PNG', () => {
    assert.throws(() => pngSize(Buffer.from('not a png at all, just some text')), /not a PNG/);
  });
});
