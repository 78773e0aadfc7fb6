import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { layoutCell, normalizeBlocks, type CellLayout, type LayoutNode } from '../../graphql/dashboard/cell-layout.js';
import { policyUpdateColumns, policyUpdateRows, type PolicyUpdateInput } from '../../graphql/dashboard/policy-table.js';
import { niceStep, rewardChartModel } from '../../graphql/dashboard/reward-chart.js';
import { DECISIONS, decodeActions } from '../../core/search-space/actions.ts';
import { cellConcat, type Genotype } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';

function byId(layout: CellLayout): Map<string, LayoutNode> {
  return new Map(layout.nodes.map((n) => [n.id, n]));
}

/** What every drawing must satisfy, whatever the cell. */
function assertDrawable(layout: CellLayout): void {
  const nodes = byId(layout);
  for (const n of layout.nodes) {
    assert.ok(n.x - n.width / 2 >= 0 && n.x + n.width / 2 <= layout.width, `${n.id} inside horizontally`);
    assert.ok(n.y - n.height / 2 >= 0 && n.y + n.height / 2 <= layout.height, `${n.id} inside vertically`);
  }
  for (let i = 0; i < layout.nodes.length; i++) {
    for (let j = i + 1; j < layout.nodes.length; j++) {
      const a = layout.nodes[i]!;
      const b = layout.nodes[j]!;
      const apart = Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2;
      assert.ok(apart, `${a.id} and ${b.id} overlap`);
    }
  }
  for (const edge of layout.edges) {
    const from = nodes.get(edge.from);
    const to = nodes.get(edge.to);
    assert.ok(from && to, `edge ${edge.from}→${edge.to} joins drawn nodes`);
    // SVG y grows downwards: data flows up the picture, as in the paper's figures.
    assert.ok(from.y > to.y, `edge ${edge.from}→${edge.to} points up`);
    assert.match(edge.path, /^M[\d.-]+,[\d.-]+ C/);
  }
  // Edges leaving one node start side by side, inside its top edge, never on top of each other.
  for (const node of layout.nodes) {
    const starts = layout.edges.filter((e) => e.from === node.id).map((e) => Number(/^M([\d.-]+),/.exec(e.path)![1]));
    assert.equal(new Set(starts).size, starts.length, `edges leaving ${node.id} start apart`);
    for (const x of starts) assert.ok(Math.abs(x - node.x) <= node.width / 2, `edges leave ${node.id} from its top`);
  }
}

describe('cell layout (the dashboard cell drawings)', () => {
  it('draws NASNet-A normal like the paper: inputs at the bottom, 10 ops into 5 adds, concat of six states at the top', () => {
    const layout = layoutCell(NASNET_A.normal, NASNET_A.normalConcat);
    const kinds = (kind: string) => layout.nodes.filter((n) => n.kind === kind);
    assert.equal(kinds('input').length, 2);
    assert.equal(kinds('op').length, 10);
    assert.deepEqual(
      kinds('combine').map((n) => n.label),
      ['add', 'add', 'add', 'add', 'add'],
    );
    assert.equal(kinds('output').length, 1);
    assert.equal(layout.levels, 1, 'every NASNet-A normal block reads only the cell inputs');
    assert.equal(layout.edges.length, 10 + 10 + 6);
    const nodes = byId(layout);
    assert.equal(nodes.get('h1')!.label, 'h[i-1]');
    assert.ok(nodes.get('h1')!.x < nodes.get('h0')!.x, 'h[i-1] left of h[i]');
    const out = nodes.get('out')!;
    assert.ok(
      layout.nodes.every((n) => n === out || n.y > out.y),
      'the output is the top node',
    );
    assert.ok(
      kinds('input').every((n) => layout.nodes.every((m) => m.y <= n.y)),
      'the inputs are the bottom nodes',
    );
    assert.equal(nodes.get('b0A')!.label, 'sep 5x5');
    assert.match(nodes.get('b2')!.title, /avg_pool3x3\(h\[i\]\), identity\(h\[i-1\]\)/);
    assert.deepEqual(
      layout.edges
        .filter((e) => e.to === 'out')
        .map((e) => e.from)
        .sort(),
      ['b0', 'b1', 'b2', 'b3', 'b4', 'h1'],
    );
    assertDrawable(layout);
  });

  it('stacks a block above the blocks it reads (NASNet-A reduction: b3 and b4 read b0, b1)', () => {
    const layout = layoutCell(NASNET_A.reduction, NASNET_A.reductionConcat);
    const nodes = byId(layout);
    assert.equal(layout.levels, 2);
    for (const upper of ['b3', 'b4'])
      for (const lower of ['b0', 'b1', 'b2']) assert.ok(nodes.get(upper)!.y < nodes.get(lower)!.y);
    assert.ok(
      layout.edges.some((e) => e.from === 'b1' && e.to === 'b3A'),
      'identity(b1) feeds b3',
    );
    assert.deepEqual(layout.outputs, [3, 4, 5, 6]);
    assertDrawable(layout);
  });

  it('takes blocks as GraphQL objects or genotype tuples alike, and without a concat list outputs the unused blocks', () => {
    const tuples = NASNET_A.reduction;
    const objects = tuples.map(([opA, inputA, opB, inputB, combine]) => ({ opA, inputA, opB, inputB, combine }));
    assert.deepEqual(layoutCell(objects, [3, 4, 5, 6]), layoutCell(tuples, [3, 4, 5, 6]));
    const chain: Genotype['normal'] = [
      ['identity', 0, 'conv3x3', 1, 'concat'],
      ['sep_conv3x3', 2, 'identity', 0, 'add'],
      ['max_pool3x3', 3, 'identity', 1, 'add'],
      ['avg_pool3x3', 4, 'identity', 2, 'add'],
      ['conv1x7_7x1', 5, 'dil_conv3x3', 0, 'add'],
    ];
    const layout = layoutCell(chain, null);
    assert.deepEqual(layout.outputs, [6]);
    assert.equal(layout.levels, 5);
    assert.equal(byId(layout).get('b0')!.label, 'concat');
    assert.equal(byId(layout).get('b4A')!.label, '1x7 + 7x1');
    assertDrawable(layout);
  });

  it('rejects a block that reads a state not computed yet', () => {
    assert.throws(() => normalizeBlocks([['identity', 2, 'identity', 0, 'add']]), RangeError);
  });

  it('lays out any cell of the search space without overlaps, every edge pointing up', () => {
    const actions = fc.tuple(...DECISIONS.map((d) => fc.integer({ min: 0, max: d.choices - 1 })));
    fc.assert(
      fc.property(actions, (chosen) => {
        const genotype = decodeActions(chosen);
        for (const cell of ['normal', 'reduction'] as const) {
          const layout = layoutCell(genotype[cell], cellConcat(genotype, cell));
          assertDrawable(layout);
          assert.equal(layout.nodes.length, 2 + 10 + 5 + 1);
          assert.equal(layout.edges.length, 20 + layout.outputs.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('reward chart model', () => {
  const points = Array.from({ length: 12 }, (_, i) => ({
    index: i,
    sampleId: `e-${i}`,
    reward: 0.3 + 0.02 * i,
    source: i === 5 ? 'REUSED' : 'TRAINED',
  }));
  const updates = [0, 1, 2].map((k) => ({
    version: k + 1,
    sampleIds: [0, 1, 2, 3].map((j) => `e-${4 * k + j}`),
    meanReward: 0.33 + 0.08 * k,
    baselineAfter: k === 0 ? 0.33 : 0.35 + 0.05 * k,
  }));

  it('puts a dot per rewarded sample, the batch mean mid-batch and the baseline at the batch end', () => {
    const model = rewardChartModel(points, updates, 16);
    assert.equal(model.dots.length, 12);
    assert.equal(model.xMax, 15, 'the x axis spans every sample drawn, rewarded or not');
    const x = (i: number) => model.plot.left + ((model.plot.right - model.plot.left) * i) / 15;
    assert.ok(Math.abs(model.dots[3]!.x - x(3)) < 1e-9);
    assert.ok(Math.abs(model.meanPoints[1]!.x - x(5.5)) < 1e-9);
    assert.equal(model.baselinePath!.split(' ').length, 3);
    assert.ok(model.baselinePath!.startsWith(`M${Math.round(x(3) * 10) / 10},`));
    assert.ok(model.yMin <= 0.3 && model.yMax >= 0.52, 'the y range holds every value');
    assert.ok(model.yTicks.length >= 3 && model.yTicks.length <= 12);
    for (const dot of model.dots) assert.ok(dot.y >= model.plot.top && dot.y <= model.plot.bottom);
  });

  it('draws an empty experiment without NaNs', () => {
    const model = rewardChartModel([], [], 0);
    assert.equal(model.dots.length, 0);
    assert.equal(model.meanPath, null);
    assert.ok(model.yTicks.every((t) => Number.isFinite(t.y)) && model.xTicks.every((t) => Number.isFinite(t.x)));
  });

  it('picks 1-2-5 tick steps', () => {
    assert.equal(niceStep(1, 5), 0.2);
    assert.equal(niceStep(0.07, 5), 0.02);
    assert.equal(niceStep(1999, 8), 500);
  });
});

describe('policy-update table', () => {
  const update = (version: number, extra: Partial<PolicyUpdateInput> = {}): PolicyUpdateInput => ({
    version,
    sampleIds: ['e-0', 'e-1'],
    meanReward: 0.5,
    baselineBefore: version === 1 ? null : 0.4,
    baselineAfter: 0.45,
    loss: null,
    approxKl: null,
    clipFraction: null,
    entropy: null,
    paramsDigestAfter: 'ab'.repeat(32),
    populationSize: null,
    population: null,
    ...extra,
  });
  const texts = (strategy: string, updates: PolicyUpdateInput[]) =>
    policyUpdateRows(strategy, updates).map((row) => row.cells.map((cell) => cell.text));

  it('shows PPO statistics, newest first, with the digest cut short', () => {
    assert.deepEqual(policyUpdateColumns('ppo'), [
      'version',
      'samples',
      'mean reward',
      'baseline before → after',
      'loss',
      'approx KL',
      'clip fraction',
      'entropy',
      'digest after',
    ]);
    const rows = texts('ppo', [update(1, { loss: -0.0123, approxKl: 0.00001, clipFraction: 0, entropy: 65.4321 }), update(2)]);
    assert.deepEqual(rows[1], ['v1', '2', '0.5000', '— → 0.4500', '-0.01230', '1.00e-5', '0', '65.43', 'abababababab']);
    assert.deepEqual(rows[0]!.slice(0, 1), ['v2']);
    assert.deepEqual(texts('random', [update(1)])[0]!.slice(4, 8), ['—', '—', '—', '—']);
  });

  it('shows evolution’s population per update: its size, best reward and best member', () => {
    assert.deepEqual(policyUpdateColumns('evolution'), [
      'version',
      'samples',
      'mean reward',
      'baseline before → after',
      'population',
      'population best',
      'best member',
      'digest after',
    ]);
    const rows = policyUpdateRows('evolution', [
      update(1, { populationSize: 2, population: [{ id: 'e-1', reward: 0.75 }] }),
      update(2, { populationSize: 4, population: [] }),
    ]);
    assert.deepEqual(rows[1]!.cells.slice(4, 7), [
      { text: '2' },
      { text: '0.7500' },
      { text: 'e-1', className: 'sample-id', sampleId: 'e-1' },
    ]);
    assert.deepEqual(
      rows[0]!.cells.slice(4, 7).map((cell) => cell.text),
      ['4', '—', '—'],
    );
  });
});
