import Type, { type Static } from 'typebox';

/** The 13 operations of the NASNet search space (paper §3; README, "The search space"). */
export const OPS = [
  'identity',
  'conv1x3_3x1',
  'conv1x7_7x1',
  'dil_conv3x3',
  'avg_pool3x3',
  'max_pool3x3',
  'max_pool5x5',
  'max_pool7x7',
  'conv1x1',
  'conv3x3',
  'sep_conv3x3',
  'sep_conv5x5',
  'sep_conv7x7',
] as const;
export type Op = (typeof OPS)[number];

export const COMBINES = ['add', 'concat'] as const;
export type Combine = (typeof COMBINES)[number];

/** Blocks per cell the controller searches (B in the paper). */
export const BLOCKS_PER_CELL = 5;

/**
 * Blocks a genotype's cell may have. Searched cells have BLOCKS_PER_CELL; imported ones may
 * differ (DARTS's cells have 4), and everything that builds or renders a cell reads its length.
 */
export const MAX_BLOCKS_PER_CELL = 10;

/** Field names of a block tuple, so errors can say `inputB` instead of `3`. */
export const BLOCK_FIELDS = ['opA', 'inputA', 'opB', 'inputB', 'combine'] as const;

const opSchema = Type.Enum(OPS);
const combineSchema = Type.Enum(COMBINES);

/** Block k reads hidden states 0 … k+1: h_i, h_{i-1}, then the outputs of earlier blocks. */
function blockSchema(k: number) {
  const input = Type.Integer({ minimum: 0, maximum: k + 1 });
  return Type.Tuple([opSchema, input, opSchema, input, combineSchema]);
}

/** `[opA, inputA, opB, inputB, combine]`, e.g. `["sep_conv5x5", 0, "sep_conv3x3", 1, "add"]`. */
export type Block = [opA: Op, inputA: number, opB: Op, inputB: number, combine: Combine];
export type Cell = Block[];

// Per-position block schemas with a minimum length state the input ranges in plain JSON
// Schema for a cell of any length, so one compiled check covers structure and ranges.
const cellSchema = Type.Unsafe<Cell>(
  Type.Tuple(
    Array.from({ length: MAX_BLOCKS_PER_CELL }, (_, k) => blockSchema(k)),
    { minItems: 1 },
  ),
);

/** Concat lists name hidden states 0 … B+1 (validateGenotype checks B against the cell). */
const concatSchema = Type.Array(Type.Integer({ minimum: 0, maximum: MAX_BLOCKS_PER_CELL + 1 }), {
  minItems: 1,
  uniqueItems: true,
});

export const genotypeSchema = Type.Object(
  {
    normal: cellSchema,
    reduction: cellSchema,
    normalConcat: Type.Optional(concatSchema),
    reductionConcat: Type.Optional(concatSchema),
  },
  { additionalProperties: false },
);

export type Genotype = Static<typeof genotypeSchema>;
export type CellName = 'normal' | 'reduction';
export const CELL_NAMES: readonly CellName[] = ['normal', 'reduction'];

/**
 * The states a cell's output concatenates: the explicit list when there is one, otherwise
 * the paper's rule, every block output no block reads (the cell inputs h_i and h_{i-1}
 * are not "generated in the cell", so they never join by that rule).
 */
export function cellConcat(genotype: Genotype, cell: CellName): number[] {
  const explicit = cell === 'normal' ? genotype.normalConcat : genotype.reductionConcat;
  if (explicit) return [...explicit];
  return unusedBlockStates(genotype[cell]);
}

export function unusedBlockStates(blocks: readonly Block[]): number[] {
  const used = new Set<number>();
  for (const [, inputA, , inputB] of blocks) {
    used.add(inputA);
    used.add(inputB);
  }
  const out: number[] = [];
  for (let state = 2; state < blocks.length + 2; state++) if (!used.has(state)) out.push(state);
  return out;
}

/** Width of a cell's output in units of its filter count: inputs and `add` blocks are 1, `concat` blocks 2. */
export function cellOutputWidth(genotype: Genotype, cell: CellName): number {
  const widths = [1, 1];
  for (const [, , , , combine] of genotype[cell]) widths.push(combine === 'add' ? 1 : 2);
  return cellConcat(genotype, cell).reduce((sum, state) => sum + widths[state]!, 0);
}

/**
 * First-stack filters giving about `penultimate` filters before the classifier (the paper's
 * "N @ F"): a search's cells differ in output width, so each child rounds to its own width.
 */
export function filtersNearPenultimate(genotype: Genotype, penultimate: number): number {
  return Math.max(1, Math.round(penultimate / (4 * cellOutputWidth(genotype, 'normal'))));
}
