import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeActions, DECISIONS } from '../../core/search-space/actions.ts';
import { canonicalGenotype, cellHash } from '../../core/search-space/canonical.ts';
import { dartsState, dartsText, looksLikeDarts, parseDartsGenotype, toDarts } from '../../core/search-space/darts.ts';
import { cellConcat, type Genotype } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { AMOEBANET_A, DARTS_V2 as DARTS_V2_CELLS, REFERENCE_CELLS } from '../../core/search-space/reference-cells.ts';
import { PythonSyntaxError } from '../../core/search-space/python-literal.ts';
import { GenotypeError } from '../../core/search-space/validate-genotype.ts';

// The published cells as DARTS's cnn/genotypes.py writes them (ops and inputs are facts of the papers).
const DARTS_NASNET = `NASNet = Genotype(
  normal = [
    ('sep_conv_5x5', 1),
    ('sep_conv_3x3', 0),
    ('sep_conv_5x5', 0),
    ('sep_conv_3x3', 0),
    ('avg_pool_3x3', 1),
    ('skip_connect', 0),
    ('avg_pool_3x3', 0),
    ('avg_pool_3x3', 0),
    ('sep_conv_3x3', 1),
    ('skip_connect', 1),
  ],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [
    ('sep_conv_5x5', 1),
    ('sep_conv_7x7', 0),
    ('max_pool_3x3', 1),
    ('sep_conv_7x7', 0),
    ('avg_pool_3x3', 1),
    ('sep_conv_5x5', 0),
    ('skip_connect', 3),
    ('avg_pool_3x3', 2),
    ('sep_conv_3x3', 2),
    ('max_pool_3x3', 1),
  ],
  reduce_concat = [4, 5, 6],
)`;

const AMOEBANET =
  "Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), " +
  "('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), ('skip_connect', 1), ('skip_connect', 0), " +
  "('avg_pool_3x3', 1)], normal_concat=[4, 5, 6], reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1), " +
  "('max_pool_3x3', 0), ('sep_conv_7x7', 2), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('max_pool_3x3', 0), " +
  "('max_pool_3x3', 1), ('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)], reduce_concat=[3, 4, 6])";

const DARTS_V2 =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
  "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], " +
  "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), " +
  "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

/** NASNet-A with the paper's concat rule instead of the reference code's explicit lists. */
const NASNET_A_PAPER_CONCAT: Genotype = { normal: NASNET_A.normal, reduction: NASNET_A.reduction };

describe('DARTS export', () => {
  it('swaps the two cell inputs and keeps block outputs: DARTS state 0 is h[i-1], state 1 is h[i]', () => {
    assert.deepEqual([0, 1, 2, 3, 6].map(dartsState), [1, 0, 2, 3, 6]);
  });

  it("gives NASNet-A's ops and inputs exactly as DARTS's genotypes.py has them", () => {
    const published = parsePairs(DARTS_NASNET);
    const exported = toDarts(NASNET_A);
    assert.deepEqual(exported.normal, published.normal);
    assert.deepEqual(exported.reduce, published.reduce);
  });

  it("maps the concat lists too: NASNet-A under the paper's rule equals DARTS's NASNet, lists included", () => {
    assert.equal(dartsText(NASNET_A_PAPER_CONCAT), dartsText(parseDartsGenotype(DARTS_NASNET)));
    const exported = toDarts(NASNET_A_PAPER_CONCAT);
    assert.deepEqual(
      [exported.normal_concat, exported.reduce_concat],
      [
        [2, 3, 4, 5, 6],
        [4, 5, 6],
      ],
    );
    // The reference code's lists also concatenate h[i-1], which is DARTS's state 0.
    assert.deepEqual(toDarts(NASNET_A).normal_concat, [0, 2, 3, 4, 5, 6]);
  });
});

describe('DARTS import', () => {
  it('reads NASNet back into our numbering', () => {
    const genotype = parseDartsGenotype(DARTS_NASNET);
    assert.deepEqual(genotype.normal, NASNET_A.normal);
    assert.deepEqual(genotype.reduction, NASNET_A.reduction);
    assert.equal(genotype.normalConcat, undefined, "a list equal to the paper's rule is left implicit");
  });

  for (const [name, text] of [
    ['AmoebaNet', AMOEBANET],
    ['DARTS-V2', DARTS_V2],
  ] as const) {
    it(`round-trips ${name}: DARTS → nasnet → DARTS gives the same pairs and concat lists`, () => {
      const genotype = parseDartsGenotype(text);
      assert.equal(dartsText(genotype), text);
    });
  }

  it('reads AmoebaNet with its real wiring: h[i-1] feeds the first normal block, block 3 of the reduction reads block 3', () => {
    const genotype = parseDartsGenotype(AMOEBANET);
    assert.deepEqual(genotype.normal[0], ['avg_pool3x3', 1, 'max_pool3x3', 0, 'add']);
    assert.deepEqual(genotype.reduction[4], ['conv1x7_7x1', 1, 'sep_conv3x3', 5, 'add']);
    assert.deepEqual(cellConcat(genotype, 'reduction'), [3, 4, 6]);
  });

  it('reads the published cells into the ones nasnet names amoebanet-a and darts-v2', () => {
    assert.deepEqual(parseDartsGenotype(AMOEBANET), AMOEBANET_A);
    assert.deepEqual(parseDartsGenotype(DARTS_V2), DARTS_V2_CELLS);
    assert.deepEqual(Object.keys(REFERENCE_CELLS), ['nasnet-a', 'amoebanet-a', 'darts-v2']);
  });

  it('reads DARTS-V2 as cells of four blocks', () => {
    const genotype = parseDartsGenotype(DARTS_V2);
    assert.equal(genotype.normal.length, 4);
    assert.deepEqual(genotype.normal[3], ['identity', 1, 'dil_conv3x3', 2, 'add']);
  });

  it("reads DARTS's search output: range(…) concat lists, double quotes, positional arguments, a module prefix", () => {
    const pairs = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2)]";
    const a = parseDartsGenotype(
      `Genotype(normal=${pairs}, normal_concat=range(2, 4), reduce=${pairs}, reduce_concat=range(2, 4))`,
    );
    const b = parseDartsGenotype(`genotypes.Genotype(${pairs.replaceAll("'", '"')}, [2, 3], ${pairs}, [2, 3],)`);
    assert.deepEqual(a, b);
    assert.deepEqual(cellConcat(a, 'normal'), [2, 3]);
  });

  it('keeps blocks that concatenate through the comment dartsText writes', () => {
    const genotype: Genotype = {
      normal: NASNET_A.normal.map((block, k) => (k === 1 ? [...block.slice(0, 4), 'concat'] : block)) as Genotype['normal'],
      reduction: NASNET_A.reduction,
    };
    const text = dartsText(genotype);
    assert.match(text, /# concat, not add: normal b1$/);
    assert.deepEqual(parseDartsGenotype(text), genotype);
  });

  it('round-trips any sampled genotype: nasnet → DARTS → nasnet is the same cell pair', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: DECISIONS.length,
          maxLength: DECISIONS.length,
        }),
        (uniforms) => {
          const actions = DECISIONS.map((decision, i) => Math.floor(uniforms[i]! * decision.choices));
          const genotype = decodeActions(actions);
          const back = parseDartsGenotype(dartsText(genotype));
          assert.deepEqual(canonicalGenotype(back), canonicalGenotype(genotype));
          assert.equal(cellHash(back), cellHash(genotype));
          assert.deepEqual(back, genotype);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells DARTS text from JSON', () => {
    assert.ok(looksLikeDarts(DARTS_NASNET));
    assert.ok(looksLikeDarts(' genotypes.Genotype(normal=[])'));
    assert.ok(!looksLikeDarts(JSON.stringify(NASNET_A)));
  });
});

describe('DARTS import refuses what nasnet cannot build, naming the op and where', () => {
  const withNormalPair = (index: number, pair: string) => {
    const pairs = [...DARTS_V2.matchAll(/\('[a-z_0-9]+', \d+\)/g)].map((m) => m[0]);
    pairs[index] = pair;
    return `Genotype(normal=[${pairs.slice(0, 8).join(', ')}], normal_concat=[2, 3, 4, 5], reduce=[${pairs.slice(8).join(', ')}], reduce_concat=[2, 3, 4, 5])`;
  };

  for (const [op, index, where] of [
    ['none', 0, /normal cell, block 0, opA: DARTS op none is not one of nasnet's 13 operations/],
    ['dil_conv_5x5', 5, /normal cell, block 2, opB: DARTS op dil_conv_5x5 is not one of/],
  ] as const) {
    it(`${op} at pair ${index}`, () => {
      assert.throws(
        () => parseDartsGenotype(withNormalPair(index, `('${op}', 0)`)),
        (error: unknown) => error instanceof GenotypeError && where.test(error.message),
      );
    });
  }

  it('an input from a later block', () => {
    assert.throws(
      () => parseDartsGenotype(withNormalPair(2, "('sep_conv_3x3', 3)")),
      /normal cell, block 1, inputA: .*0 to 2 \(got 3\)/,
    );
  });

  it('a concat state the cell does not have', () => {
    assert.throws(
      () => parseDartsGenotype(DARTS_V2.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 9]')),
      /normal_concat: .*0 to 5 \(got 9\)/,
    );
  });

  it('an odd number of pairs, a missing field, an unknown field', () => {
    assert.throws(
      () => parseDartsGenotype(DARTS_V2.replace("('sep_conv_3x3', 0), ", '')),
      /normal cell, normal: must be a non-empty list of \(op, input\) pairs, two per block/,
    );
    assert.throws(() => parseDartsGenotype(DARTS_V2.replace(', reduce_concat=[2, 3, 4, 5]', '')), /reduce_concat: is missing/);
    assert.throws(
      () => parseDartsGenotype(DARTS_V2.replace('reduce_concat=', 'reduction_concat=')),
      /reduction_concat: Genotype takes normal, normal_concat, reduce, reduce_concat/,
    );
  });

  it('Python it cannot read, with line and column', () => {
    assert.throws(
      () => parseDartsGenotype("Genotype(\n  normal=[('sep_conv_3x3' 0)],"),
      (error: unknown) =>
        error instanceof PythonSyntaxError && /line 2, column 27: expected "," or "\)", found "0\)\],"/.test(error.message),
    );
    assert.throws(() => parseDartsGenotype('Genotype(normal=eval("1"))'), /expected a number, string, list, tuple or range/);
  });
});

function parsePairs(text: string): { normal: Array<[string, number]>; reduce: Array<[string, number]> } {
  const cell = (name: string) => {
    const body = new RegExp(`${name}\\s*=\\s*\\[([^\\]]*)\\]`).exec(text)![1]!;
    return [...body.matchAll(/\('([a-z_0-9]+)', (\d+)\)/g)].map((m): [string, number] => [m[1]!, Number(m[2])]);
  };
  return { normal: cell('normal'), reduce: cell('reduce') };
}
