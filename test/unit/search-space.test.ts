import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ACTION_COUNT, DECISIONS, decodeActions, encodeActions } from '../../core/search-space/actions.ts';
import { canonicalCell, cellHash } from '../../core/search-space/canonical.ts';
import { BLOCK_FIELDS, cellConcat, COMBINES, OPS, type Block, type Genotype } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { cellDot, cellText, genotypeText } from '../../core/search-space/render.ts';
import { GenotypeError, validateGenotype } from '../../core/search-space/validate-genotype.ts';

const actionsArbitrary = fc.tuple(...DECISIONS.map((d) => fc.integer({ min: 0, max: d.choices - 1 })));
const genotypeArbitrary = actionsArbitrary.map((actions) => decodeActions(actions));

/** Renumbers a cell's blocks by a permutation that keeps every block after its inputs. */
function reorderBlocks(genotype: Genotype, cell: 'normal' | 'reduction', order: number[]): Genotype {
  const blocks = genotype[cell];
  const newState = (state: number) => (state < 2 ? state : order.indexOf(state - 2) + 2);
  const moved = order.map((k) => {
    const [opA, a, opB, b, combine] = blocks[k]!;
    return [opA, newState(a), opB, newState(b), combine] as Block;
  }) as Genotype['normal'];
  const concat = cellConcat(genotype, cell).map(newState);
  return cell === 'normal'
    ? { ...genotype, normal: moved, normalConcat: concat }
    : { ...genotype, reduction: moved, reductionConcat: concat };
}

/** A random topological order of the blocks of a cell. */
function topologicalOrder(blocks: readonly Block[], choose: (n: number) => number): number[] {
  const placed: number[] = [];
  const remaining = blocks.map((_, k) => k);
  while (remaining.length) {
    const ready = remaining.filter((k) => [blocks[k]![1], blocks[k]![3]].every((s) => s < 2 || placed.includes(s - 2)));
    const pick = ready[choose(ready.length)]!;
    placed.push(pick);
    remaining.splice(remaining.indexOf(pick), 1);
  }
  return placed;
}

describe('genotype', () => {
  it('holds NASNet-A exactly as the reference code has it, and it validates', () => {
    assert.deepEqual(validateGenotype(NASNET_A), NASNET_A);
    assert.deepEqual(NASNET_A.normal[0], ['sep_conv5x5', 0, 'sep_conv3x3', 1, 'add']);
    assert.deepEqual(NASNET_A.reduction[3], ['identity', 3, 'avg_pool3x3', 2, 'add']);
    assert.deepEqual(cellConcat(NASNET_A, 'normal'), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(cellConcat(NASNET_A, 'reduction'), [3, 4, 5, 6]);
    assert.equal(OPS.length, 13);
    assert.equal(ACTION_COUNT, 50);
  });

  it('concatenates the unused block outputs when no concat list is given (the paper rule)', () => {
    const { normalConcat: _n, reductionConcat: _r, ...bare } = NASNET_A;
    // normal: blocks 0-4 are states 2-6 and no block reads another block
    assert.deepEqual(cellConcat(bare, 'normal'), [2, 3, 4, 5, 6]);
    // reduction: b3 reads states 3 (b1) and 2 (b0), b4 reads state 2: b2, b3 and b4 are unused
    assert.deepEqual(cellConcat(bare, 'reduction'), [4, 5, 6]);
  });

  it('round-trips through the 50 controller actions (property)', () => {
    fc.assert(
      fc.property(actionsArbitrary, (actions) => {
        const genotype = decodeActions(actions);
        assert.deepEqual(validateGenotype(genotype), genotype);
        assert.deepEqual(encodeActions(genotype), actions);
        assert.deepEqual(decodeActions(encodeActions(genotype)), genotype);
      }),
    );
    assert.throws(() => decodeActions(new Array(49).fill(0)), /50 actions, got 49/);
    assert.throws(
      () => decodeActions([...new Array(49).fill(0), 2]),
      /action 49 \(reduction cell, block 4, combine\) must be an integer in 0\.\.1, got 2/,
    );
  });

  it('refuses every kind of broken genotype, naming the cell, block and field (property)', () => {
    const mutation = fc.record({
      cell: fc.constantFrom('normal' as const, 'reduction' as const),
      block: fc.integer({ min: 0, max: 4 }),
      kind: fc.constantFrom('op', 'input', 'combine', 'fraction', 'negative'),
      side: fc.constantFrom(0, 1),
    });
    fc.assert(
      fc.property(genotypeArbitrary, mutation, (genotype, { cell, block, kind, side }) => {
        const broken = structuredClone(genotype) as unknown as Record<string, unknown[][]>;
        const row = broken[cell]![block]!;
        let field: string;
        if (kind === 'op') {
          field = BLOCK_FIELDS[side * 2]!;
          row[side * 2] = 'conv9x9';
        } else if (kind === 'combine') {
          field = 'combine';
          row[4] = 'multiply';
        } else {
          field = BLOCK_FIELDS[side * 2 + 1]!;
          row[side * 2 + 1] = kind === 'input' ? block + 2 : kind === 'fraction' ? 0.5 : -1;
        }
        assert.throws(
          () => validateGenotype(broken),
          (error: unknown) => {
            assert.ok(error instanceof GenotypeError);
            assert.equal(error.cell, cell);
            assert.equal(error.block, block);
            assert.equal(error.field, field);
            assert.match(error.message, new RegExp(`^invalid genotype: ${cell} cell, block ${block}, ${field}: `));
            return true;
          },
        );
      }),
    );
    const elevenBlocks = { ...NASNET_A, normal: [...NASNET_A.normal, ...NASNET_A.normal, NASNET_A.normal[0]!] };
    assert.throws(() => validateGenotype(elevenBlocks), /normal cell, blocks: a cell has 1 to 10 blocks \(got 11\)/);
    assert.throws(
      () => validateGenotype({ ...NASNET_A, normal: [] }),
      /normal cell, blocks: a cell has 1 to 10 blocks \(got 0\)/,
    );
    assert.throws(
      () => validateGenotype({ ...NASNET_A, reductionConcat: [3, 9] }),
      /reductionConcat: must be a state of the reduction cell, 0 to 6 \(got 9\)/,
    );
    const fourBlocks = { ...NASNET_A, normal: NASNET_A.normal.slice(0, 4) };
    assert.throws(() => validateGenotype(fourBlocks), /normalConcat: must be a state of the normal cell, 0 to 5 \(got 6\)/);
    assert.deepEqual(
      validateGenotype({ ...fourBlocks, normalConcat: [1, 5] }).normal.length,
      4,
      'imported cells may have fewer blocks',
    );
    assert.throws(() => validateGenotype({ normal: NASNET_A.normal }), /reduction: is missing/);
  });
});

describe('canonical form and hash', () => {
  it('is the same when the operands of add are swapped (property)', () => {
    fc.assert(
      fc.property(genotypeArbitrary, fc.integer({ min: 0, max: 4 }), (genotype, block) => {
        const [opA, a, opB, b, combine] = genotype.normal[block]!;
        const swapped = structuredClone(genotype);
        swapped.normal[block] = [opB, b, opA, a, combine];
        if (combine === 'add') assert.equal(cellHash(swapped), cellHash(genotype));
        else if (opA !== opB || a !== b) {
          // concat keeps its order: a later add would pair different channels
          assert.notDeepEqual(canonicalCell(swapped, 'normal'), canonicalCell(genotype, 'normal'));
        }
      }),
    );
  });

  it('is the same for any block order that keeps the graph (property)', () => {
    fc.assert(
      fc.property(genotypeArbitrary, fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), (genotype, picks) => {
        let i = 0;
        const order = topologicalOrder(genotype.reduction, (n) => picks[i++]! % n);
        const reordered = reorderBlocks(genotype, 'reduction', order);
        assert.deepEqual(validateGenotype(reordered), reordered);
        assert.equal(cellHash(reordered), cellHash(genotype));
      }),
    );
  });

  it('ignores blocks whose output is never used, and changes when a used op changes', () => {
    // With an explicit concat list, a block nothing reads and the output omits is dead.
    const withDead: Genotype = { ...NASNET_A, reductionConcat: [4, 5, 6] };
    // b0 (state 2) is read by b3 and b4, so it is not dead; make b4 read h[i] instead and drop it from concat
    const base = structuredClone(withDead);
    base.reduction[4] = ['sep_conv3x3', 0, 'max_pool3x3', 0, 'add'];
    base.reductionConcat = [4, 5];
    const changedDead = structuredClone(base);
    changedDead.reduction[4] = ['conv1x1', 1, 'identity', 1, 'concat'];
    assert.equal(cellHash(changedDead), cellHash(base));
    const changedLive = structuredClone(base);
    changedLive.reduction[3] = ['identity', 3, 'max_pool3x3', 2, 'add'];
    assert.notEqual(cellHash(changedLive), cellHash(base));
    assert.notEqual(cellHash(NASNET_A), cellHash({ ...NASNET_A, normalConcat: [2, 3, 4, 5, 6] }));
    assert.match(cellHash(NASNET_A), /^[0-9a-f]{16}$/);
  });
});

describe('renderings', () => {
  it('writes one line per block, the output, a Graphviz graph and the DARTS genotype', () => {
    assert.deepEqual(cellText(NASNET_A, 'normal'), [
      'b0 = sep_conv5x5(h[i]) + sep_conv3x3(h[i-1])',
      'b1 = sep_conv5x5(h[i-1]) + sep_conv3x3(h[i-1])',
      'b2 = avg_pool3x3(h[i]) + identity(h[i-1])',
      'b3 = avg_pool3x3(h[i-1]) + avg_pool3x3(h[i-1])',
      'b4 = sep_conv3x3(h[i]) + identity(h[i])',
      'out = concat(h[i-1], b0, b1, b2, b3, b4)',
    ]);
    assert.match(
      genotypeText(NASNET_A),
      /^normal cell:\n {2}b0 = [\s\S]*\nreduction cell:\n {2}b0 = sep_conv5x5\(h\[i\]\) \+ sep_conv7x7\(h\[i-1\]\)/,
    );
    const withConcat = structuredClone(NASNET_A);
    withConcat.normal[0]![4] = 'concat';
    assert.equal(cellText(withConcat, 'normal')[0], 'b0 = concat(sep_conv5x5(h[i]), sep_conv3x3(h[i-1]))');
    const dot = cellDot(NASNET_A, 'reduction');
    assert.match(dot, /^digraph reduction \{/);
    assert.match(dot, /b3a \[label="identity"/);
    assert.match(dot, /b1 -> b3a;/);
    assert.match(dot, /b4 -> out;/);
    assert.doesNotMatch(dot, /b0 -> out;/);
    assert.equal(COMBINES.length, 2);
  });
});
