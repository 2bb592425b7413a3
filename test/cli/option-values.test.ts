import { strict as assert } from 'assert';

import { integerValue, numberList, numberValue } from '../../lib/cli/option-values';

describe('cli: option value parsers', () => {
  it('numbers: finite only, the flag named in the error', () => {
    assert.equal(numberValue('0.9', '--k1'), 0.9);
    assert.equal(numberValue('-1e-3', '--x'), -0.001);
    for (const bad of ['', ' ', 'abc', 'NaN', 'Infinity', '1,5']) {
      assert.throws(() => numberValue(bad, '--k1'), new RegExp(`--k1 must be a number, got '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
    }
  });

  it('integers: optional lower bound, worded by the bound', () => {
    assert.equal(integerValue('-3', '--level'), -3);
    assert.equal(integerValue('0', '--max-results', 0), 0);
    assert.throws(() => integerValue('1.5', '--steps'), /--steps must be an integer, got '1.5'/);
    assert.throws(() => integerValue('0', '--steps', 1), /--steps must be a positive integer, got '0'/);
    assert.throws(() => integerValue('-1', '--max-results', 0), /--max-results must be an integer >= 0, got '-1'/);
    assert.throws(() => integerValue('', '--steps', 1), /positive integer/);
  });

  it('lists: comma-separated finite numbers, empty entries dropped', () => {
    assert.deepEqual(numberList('0.001, 0.01,,0.05', '--lambdas'), [0.001, 0.01, 0.05]);
    assert.deepEqual(numberList('', '--ks'), []);
    assert.throws(() => numberList('1,x', '--ks'), /--ks must be a comma-separated list of numbers, got '1,x'/);
  });
});
