import * as assert from 'assert';

import { escapeFeatureName, featureKey, TokenKeyError, unescapeFeatureName } from '../../lib/export/token-keys';
import { MIN_NORMAL_FLOAT32, weightProblem } from '../../lib/export/weights';
import { shortestFloat32 } from '../../lib/sparse/float32';

const formatFloat32 = (v: number): string => String(shortestFloat32(v));

describe('export: weights', () => {
  it('writes the shortest decimal that reads back to the same float32', () => {
    const f = new Float32Array([0.3, 1, 2.5, 1e-7, 123456.789, 3.4028234663852886e38]);
    assert.strictEqual(formatFloat32(f[0]), '0.3');
    assert.strictEqual(formatFloat32(f[1]), '1');
    assert.strictEqual(formatFloat32(f[2]), '2.5');
    for (const v of f) assert.strictEqual(Math.fround(Number(formatFloat32(v))), v);
  });

  it('classifies NaN / inf as non-finite and <= 0 or subnormal as non-positive', () => {
    assert.strictEqual(weightProblem(NaN), 'nonFinite');
    assert.strictEqual(weightProblem(Infinity), 'nonFinite');
    assert.strictEqual(weightProblem(-Infinity), 'nonFinite');
    assert.strictEqual(weightProblem(0), 'nonPositive');
    assert.strictEqual(weightProblem(-1), 'nonPositive');
    assert.strictEqual(weightProblem(MIN_NORMAL_FLOAT32 / 2), 'nonPositive');
    assert.strictEqual(weightProblem(MIN_NORMAL_FLOAT32), null);
    assert.strictEqual(weightProblem(0.5), null);
  });
});

describe('export: token keys', () => {
  it('escapes dots and percent signs reversibly and without collisions', () => {
    assert.strictEqual(escapeFeatureName('a.m.'), 'a%2Em%2E');
    assert.strictEqual(escapeFeatureName('100%'), '100%25');
    assert.strictEqual(escapeFeatureName('%2E'), '%252E'); // a literal "%2E" token does not collide with "."
    for (const t of ['.', '...', '##.', '%2E', 'a%b.c', 'plain']) {
      assert.strictEqual(unescapeFeatureName(escapeFeatureName(t)), t);
      assert.ok(!escapeFeatureName(t).includes('.'));
    }
  });

  it('applies the four policies', () => {
    assert.strictEqual(featureKey('a.b', 'escape'), 'a%2Eb');
    assert.strictEqual(featureKey('a.b', 'keep'), 'a.b');
    assert.strictEqual(featureKey('a.b', 'drop'), null);
    assert.throws(() => featureKey('a.b', 'reject'), TokenKeyError);
    assert.strictEqual(featureKey('plain', 'reject'), 'plain');
    assert.strictEqual(featureKey('', 'escape'), null);
    assert.throws(() => featureKey('', 'reject'), /empty/);
  });

  it("leaves out keys over Lucene's 32766-byte term limit (escaping counts)", () => {
    assert.strictEqual(featureKey('x'.repeat(32766), 'keep'), 'x'.repeat(32766));
    assert.strictEqual(featureKey('x'.repeat(32767), 'keep'), null);
    assert.strictEqual(featureKey('.'.repeat(11000), 'escape'), null); // 33000 bytes once escaped
    assert.strictEqual(featureKey('é'.repeat(16384), 'drop'), null); // 32768 bytes in UTF-8
    assert.throws(() => featureKey('x'.repeat(40000), 'reject'), /term limit/);
  });
});

