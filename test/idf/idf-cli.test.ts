import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { buildProgram } from '../../lib/cli/main';
import { TINY_VOCAB, withTinyTokenizer } from './tiny-vocab';

describe('cli: l0sparse idf', () => {
  const tiny = withTinyTokenizer();
  after(() => tiny.cleanup());

  it('writes BM25 IDF of title + " " + text over a BEIR corpus', async () => {
    const beir = path.join(tiny.dir, 'beir');
    fs.mkdirSync(beir);
    // Texts as the encoder sees them: "the cat" + " " + "sat" | "" + " " + "dog dog" | "mat" + " " + "the cats"
    fs.writeFileSync(path.join(beir, 'corpus.jsonl'), [
      { _id: 'a', title: 'the cat', text: 'sat' }, { _id: 'b', title: '', text: 'dog dog' }, { _id: 'c', title: 'mat', text: 'the cats' },
    ].map((d) => JSON.stringify(d)).join('\n') + '\n');
    const run = async (out: string, ...extra: string[]) => {
      await buildProgram().exitOverride().parseAsync(['node', 'l0sparse', 'idf', '--data', beir, '--tokenizer', path.join(tiny.dir, 'vocab.txt'), '--out', out, '--no-progress', ...extra]);
      return JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, number>;
    };
    const w = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5));
    const expected: Record<string, number> = { the: w(2), cat: w(2), sat: w(1), dog: w(1), mat: w(1), '##s': w(1) };
    // Default: 'on' occurs in no document and is left out (queries weigh it 1.0).
    const idf = await run(path.join(tiny.dir, 'out', 'idf.json'));
    assert.deepEqual(Object.keys(idf).sort(), Object.keys(expected).sort());
    for (const [token, weight] of Object.entries(expected)) assert.ok(Math.abs(idf[token] - weight) < 1e-14, token);
    // --unseen max-idf: every non-special token, 'on' with the df = 0 weight ln(2N + 2).
    const max = await run(path.join(tiny.dir, 'out', 'idf-max.json'), '--unseen', 'max-idf');
    assert.deepEqual(Object.keys(max).sort(), TINY_VOCAB.filter((t) => !t.startsWith('[')).sort());
    for (const [token, weight] of Object.entries({ ...expected, on: w(0) })) assert.ok(Math.abs(max[token] - weight) < 1e-14, token);
    assert.ok(Math.abs(max.on - Math.log(8)) < 1e-14);
    await assert.rejects(run(path.join(tiny.dir, 'out', 'x.json'), '--unseen', 'zero'), /--unseen must be default-1 or max-idf, got "zero"/);
  });

  it('fails with the missing corpus named', async () => {
    await assert.rejects(buildProgram().exitOverride().parseAsync(['node', 'l0sparse', 'idf', '--data', path.join(tiny.dir, 'none'), '--tokenizer', path.join(tiny.dir, 'vocab.txt'), '--out', path.join(tiny.dir, 'x.json')]),
      /corpus not found: .*none/);
  });
});
