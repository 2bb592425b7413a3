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
    const out = path.join(tiny.dir, 'out', 'idf.json');
    await buildProgram().exitOverride().parseAsync(['node', 'l0sparse', 'idf', '--data', beir, '--tokenizer', path.join(tiny.dir, 'vocab.txt'), '--out', out, '--no-progress']);
    const idf = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, number>;
    const w = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5));
    const expected: Record<string, number> = { the: w(2), cat: w(2), sat: w(1), dog: w(1), mat: w(1), '##s': w(1), on: w(0) };
    assert.deepEqual(Object.keys(idf).sort(), TINY_VOCAB.filter((t) => !t.startsWith('[')).sort());
    for (const [token, weight] of Object.entries(expected)) assert.ok(Math.abs(idf[token] - weight) < 1e-14, token);
  });

  it('fails with the missing corpus named', async () => {
    await assert.rejects(buildProgram().exitOverride().parseAsync(['node', 'l0sparse', 'idf', '--data', path.join(tiny.dir, 'none'), '--tokenizer', path.join(tiny.dir, 'vocab.txt'), '--out', path.join(tiny.dir, 'x.json')]),
      /corpus not found: .*none/);
  });
});
