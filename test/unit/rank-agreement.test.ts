import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { kendallTau, spearman } from '../../bench/rank-agreement.ts';

describe('rank agreement (bench:proxy)', () => {
  it('given known pairs, when compared, then Kendall tau-b matches its definition (ties counted as ties)', () => {
    assert.equal(kendallTau([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]), 1);
    assert.equal(kendallTau([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]), -1);
    assert.ok(Math.abs(kendallTau([1, 2, 3], [1, 3, 2]) - 1 / 3) < 1e-12);
    // scipy.stats.kendalltau([1, 1, 2], [1, 2, 3]) = 0.8164965809
    assert.ok(Math.abs(kendallTau([1, 1, 2], [1, 2, 3]) - 2 / Math.sqrt(6)) < 1e-12);
    assert.ok(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3])), 'undefined for a constant side');
    assert.throws(() => kendallTau([1, 2], [1]), /2 x values but 1 y values/);
  });

  it('given any scores, then tau and rho are symmetric, within [-1, 1] and blind to monotone rescaling', () => {
    const scores = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })), {
      minLength: 3,
      maxLength: 30,
    });
    fc.assert(
      fc.property(scores, (pairs) => {
        const x = pairs.map(([a]) => a);
        const y = pairs.map(([, b]) => b);
        const tau = kendallTau(x, y);
        if (Number.isNaN(tau)) return;
        assert.ok(tau >= -1 - 1e-12 && tau <= 1 + 1e-12);
        assert.ok(Math.abs(tau - kendallTau(y, x)) < 1e-12);
        assert.ok(
          Math.abs(
            tau -
              kendallTau(
                x.map((v) => Math.exp(v / 5)),
                y,
              ),
          ) < 1e-12,
        );
        assert.ok(
          Math.abs(
            spearman(x, y) -
              spearman(
                x.map((v) => 3 * v + 1),
                y,
              ),
          ) < 1e-9,
        );
      }),
    );
  });
});
