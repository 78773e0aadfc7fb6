import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DECISIONS, decodeActions } from '../../core/search-space/actions.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { REFERENCE_CELLS } from '../../core/search-space/reference-cells.ts';
import { buildNasnetPlan, cellOutputWidth, filtersForPenultimate } from '../../plugins/trainers/network/nasnet-plan.ts';
import { networkOptions } from '../../plugins/trainers/network/network-options.ts';
import { planTotals } from '../../plugins/trainers/network/plan.ts';

const within = (value: number, reference: number, tolerance: number) => Math.abs(value / reference - 1) <= tolerance;

describe('network plan', () => {
  it("matches the paper's sizes within 2% (auxiliary head not counted)", () => {
    const mobile = planTotals(buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'imagenet', N: 4, F: 1056 })));
    assert.ok(within(mobile.trainableParams, 5.3e6, 0.02), `NASNet-A (4 @ 1056): ${mobile.trainableParams} parameters`);
    assert.ok(within(mobile.multAdds, 564e6, 0.02), `NASNet-A (4 @ 1056): ${mobile.multAdds} multiply-adds`);
    const large = planTotals(
      buildNasnetPlan(
        networkOptions({
          genotype: NASNET_A,
          dataset: 'imagenet',
          N: 6,
          F: 4032,
          imageSize: 331,
          stemFilters: 96,
          skipReductionInput: true,
        }),
      ),
    );
    assert.ok(within(large.trainableParams, 88.9e6, 0.02), `NASNet-A (6 @ 4032): ${large.trainableParams} parameters`);
    assert.ok(within(large.multAdds, 23.8e9, 0.02), `NASNet-A (6 @ 4032): ${large.multAdds} multiply-adds`);
    const cifar = planTotals(buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'cifar10', N: 6, F: 768 })));
    assert.ok(within(cifar.trainableParams, 3.3e6, 0.02), `NASNet-A (6 @ 768) on CIFAR-10: ${cifar.trainableParams} parameters`);
  });

  it('builds a consistent network for every genotype (property)', () => {
    const actions = fc.tuple(...DECISIONS.map((d) => fc.integer({ min: 0, max: d.choices - 1 })));
    fc.assert(
      fc.property(actions, fc.boolean(), (chosen, aux) => {
        const genotype = decodeActions(chosen);
        const plan = buildNasnetPlan(
          networkOptions({ genotype, dataset: 'fashion-mnist', N: 1, filters: 4, auxHead: aux, dropPath: true }),
        );
        assert.deepEqual(plan.nodes[plan.logits]!.shape, [1, 1, 10]);
        // two reductions: 28 → 14 → 7
        assert.deepEqual(plan.nodes[plan.features]!.shape, [7, 7, 4 * 4 * cellOutputWidth(genotype, 'normal')]);
        assert.equal(plan.auxLogits !== null, aux);
        assert.equal(plan.cells, 5);
        const totals = planTotals(plan);
        assert.ok(totals.trainableParams > 0 && totals.multAdds > 0);
      }),
      { numRuns: 40 },
    );
  });

  it('builds the published cells, the four-block DARTS-V2 too', () => {
    for (const [name, genotype] of Object.entries(REFERENCE_CELLS)) {
      const plan = buildNasnetPlan(networkOptions({ genotype, dataset: 'cifar10', N: 2, filters: 8 }));
      assert.deepEqual(plan.nodes[plan.logits]!.shape, [1, 1, 10], name);
      // DARTS-V2 concatenates all four blocks: 4 × 8 filters, × 4 after two reductions
      if (name === 'darts-v2') assert.deepEqual(plan.nodes[plan.features]!.shape, [8, 8, 4 * 4 * 8]);
    }
  });

  it('derives the first-stack filters from the penultimate F, and says what would fit', () => {
    assert.equal(cellOutputWidth(NASNET_A, 'normal'), 6);
    assert.equal(cellOutputWidth(NASNET_A, 'reduction'), 4);
    assert.equal(filtersForPenultimate(NASNET_A, 768), 32);
    assert.throws(() => filtersForPenultimate(NASNET_A, 700), /F = 700 .* try 696/);
    const withConcat = structuredClone(NASNET_A);
    withConcat.normal[0]![4] = 'concat';
    assert.equal(cellOutputWidth(withConcat, 'normal'), 7);
    assert.throws(() => networkOptions({ genotype: NASNET_A, dataset: 'cifar10', N: 1 }), /give the size as F .* or as filters/);
    assert.throws(
      () => networkOptions({ genotype: NASNET_A, dataset: 'svhn' as 'cifar10', N: 1, filters: 8 }),
      /dataset must be one of imagenet, cifar10, fashion-mnist/,
    );
    assert.throws(
      () => buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'cifar10', N: 0, filters: 8 })),
      /N must be a whole number >= 1 \(got 0\)/,
    );
  });

  it('reduces states a reduction cell concatenates from its own inputs', () => {
    const genotype = structuredClone(NASNET_A);
    genotype.reductionConcat = [0, 3, 4];
    const plan = buildNasnetPlan(networkOptions({ genotype, dataset: 'cifar10', N: 1, filters: 8 }));
    assert.deepEqual(plan.nodes[plan.logits]!.shape, [1, 1, 10]);
    assert.ok(plan.nodes.some((n) => n.kind === 'shift' && n.scope.includes('out0')));
  });

  it('never plans an empty tensor, however few filters (a GPU cannot bind one)', () => {
    for (const filters of [1, 2, 3, 5]) {
      for (const dataset of ['fashion-mnist', 'imagenet'] as const) {
        const plan = buildNasnetPlan(
          networkOptions({ genotype: NASNET_A, dataset, N: 1, filters, imageSize: dataset === 'imagenet' ? 64 : undefined }),
        );
        const empty = plan.nodes.find((n) => n.shape.some((d) => d < 1));
        assert.equal(
          empty,
          undefined,
          `filters ${filters} on ${dataset}: ${empty?.scope} ${empty?.kind} has shape ${empty?.shape}`,
        );
      }
    }
  });
});
