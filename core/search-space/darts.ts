import { cellConcat, unusedBlockStates, type Block, type CellName, type Genotype, type Op } from './genotype.ts';
import { parsePythonCall, type PythonValue } from './python-literal.ts';
import { GenotypeError, validateGenotype } from './validate-genotype.ts';

/**
 * DARTS's names for our operations. The last five have no DARTS implementation (DARTS's
 * operations.py has none of them); they are named in DARTS's style so an export stays readable
 * and imports back.
 */
export const DARTS_OP_NAMES: Readonly<Record<Op, string>> = {
  identity: 'skip_connect',
  sep_conv3x3: 'sep_conv_3x3',
  sep_conv5x5: 'sep_conv_5x5',
  sep_conv7x7: 'sep_conv_7x7',
  dil_conv3x3: 'dil_conv_3x3',
  avg_pool3x3: 'avg_pool_3x3',
  max_pool3x3: 'max_pool_3x3',
  conv1x7_7x1: 'conv_7x1_1x7',
  conv1x3_3x1: 'conv_1x3_3x1',
  max_pool5x5: 'max_pool_5x5',
  max_pool7x7: 'max_pool_7x7',
  conv1x1: 'conv_1x1',
  conv3x3: 'conv_3x3',
};

const OP_BY_DARTS_NAME = new Map<string, Op>(Object.entries(DARTS_OP_NAMES).map(([ours, darts]) => [darts, ours as Op]));

/**
 * DARTS numbers a cell's inputs the other way round: its model.py runs `s0, s1 = s1, cell(s0, s1)`,
 * so DARTS's state 0 is h[i-1] and state 1 is h[i], while ours are 0 = h[i], 1 = h[i-1]. Block
 * outputs are 2, 3, … in both. The swap is its own inverse.
 */
export function dartsState(state: number): number {
  return state < 2 ? 1 - state : state;
}

const DARTS_CELLS = { normal: 'normal', reduction: 'reduce' } as const satisfies Record<CellName, string>;

export interface DartsGenotype {
  normal: Array<[string, number]>;
  normal_concat: number[];
  reduce: Array<[string, number]>;
  reduce_concat: number[];
  /** Blocks that concatenate their two inputs: DARTS always adds, so the text carries them as a comment. */
  concatBlocks: { normal: number[]; reduce: number[] };
}

/** Two `(op, input)` pairs per block with DARTS's op names and state numbers, and the concat lists. */
export function toDarts(genotype: Genotype): DartsGenotype {
  const pairs = (cell: CellName) =>
    genotype[cell].flatMap(
      ([opA, inputA, opB, inputB]): Array<[string, number]> => [
        [DARTS_OP_NAMES[opA], dartsState(inputA)],
        [DARTS_OP_NAMES[opB], dartsState(inputB)],
      ],
    );
  const concatBlocks = (cell: CellName) => genotype[cell].flatMap((block, k) => (block[4] === 'concat' ? [k] : []));
  return {
    normal: pairs('normal'),
    normal_concat: cellConcat(genotype, 'normal').map(dartsState),
    reduce: pairs('reduction'),
    reduce_concat: cellConcat(genotype, 'reduction').map(dartsState),
    concatBlocks: { normal: concatBlocks('normal'), reduce: concatBlocks('reduction') },
  };
}

const CONCAT_COMMENT = '# concat, not add:';

/** DARTS's Python repr, `Genotype(normal=[('sep_conv_5x5', 1), …], normal_concat=[…], reduce=[…], reduce_concat=[…])`. */
export function dartsText(genotype: Genotype): string {
  const darts = toDarts(genotype);
  const list = (pairs: Array<[string, number]>) => `[${pairs.map(([op, input]) => `('${op}', ${input})`).join(', ')}]`;
  const text =
    `Genotype(normal=${list(darts.normal)}, normal_concat=[${darts.normal_concat.join(', ')}], ` +
    `reduce=${list(darts.reduce)}, reduce_concat=[${darts.reduce_concat.join(', ')}])`;
  const concat = (['normal', 'reduce'] as const).flatMap((cell) => darts.concatBlocks[cell].map((k) => `${cell} b${k}`));
  return concat.length ? `${text}  ${CONCAT_COMMENT} ${concat.join(', ')}` : text;
}

/** Does this text look like a DARTS genotype rather than JSON? */
export function looksLikeDarts(text: string): boolean {
  return /^\s*(?:[A-Za-z_]\w*\s*=\s*)?(?:[A-Za-z_]\w*\.)*Genotype\s*\(/.test(text);
}

const FIELDS = ['normal', 'normal_concat', 'reduce', 'reduce_concat'] as const;
type DartsField = (typeof FIELDS)[number];

/**
 * Reads DARTS's `Genotype(normal=[…], normal_concat=[…], reduce=[…], reduce_concat=[…])` (keyword or
 * positional arguments, `range(2, 6)` concat lists as DARTS's search prints them, an optional
 * `NAME = ` in front) into our genotype, checked like any other. A comment written by
 * `dartsText` restores blocks that concatenate.
 */
export function parseDartsGenotype(text: string): Genotype {
  const { name, args, comment } = parsePythonCall(text);
  if (name.split('.').at(-1) !== 'Genotype') throw dartsError(null, 'Genotype(…)', name, 'expected a call of Genotype');
  const fields = dartsFields(args);
  const concatBlocks = parseConcatComment(comment);
  const genotype = {
    normal: dartsCell('normal', fields.normal, concatBlocks.normal),
    reduction: dartsCell('reduction', fields.reduce, concatBlocks.reduce),
    normalConcat: dartsConcat('normal', fields.normal_concat, fields.normal),
    reductionConcat: dartsConcat('reduction', fields.reduce_concat, fields.reduce),
  };
  return validateGenotype(withoutDefaultConcat(genotype));
}

function dartsFields(args: ReturnType<typeof parsePythonCall>['args']): Record<DartsField, PythonValue> {
  const fields = new Map<string, PythonValue>();
  args.forEach((arg, position) => {
    const field = arg.keyword ?? FIELDS[position];
    if (field === undefined || !(FIELDS as readonly string[]).includes(field)) {
      throw dartsError(
        null,
        arg.keyword ?? `argument ${position + 1}`,
        arg.keyword ?? position + 1,
        `Genotype takes ${FIELDS.join(', ')}`,
      );
    }
    if (fields.has(field)) throw dartsError(null, field, field, 'is given twice');
    fields.set(field, arg.value);
  });
  for (const field of FIELDS) if (!fields.has(field)) throw dartsError(null, field, undefined, 'is missing');
  return Object.fromEntries(fields) as Record<DartsField, PythonValue>;
}

function dartsCell(cell: CellName, value: PythonValue, concatBlocks: ReadonlySet<number>): Block[] {
  const field = DARTS_CELLS[cell];
  if (!Array.isArray(value) || value.length === 0 || value.length % 2 !== 0) {
    throw dartsError(cell, field, value, 'must be a non-empty list of (op, input) pairs, two per block');
  }
  const blocks = value.length / 2;
  for (const k of concatBlocks)
    if (k >= blocks) throw dartsError(cell, 'comment', `b${k}`, `the cell has blocks b0 to b${blocks - 1}`);
  const pair = (index: number): [Op, number] => {
    const block = Math.floor(index / 2);
    const side = index % 2 === 0 ? 'A' : 'B';
    const item = value[index];
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || typeof item[1] !== 'number') {
      throw new GenotypeError(cell, block, `pair ${index}`, item, "must be an ('op', input) pair");
    }
    const [dartsOp, input] = item;
    const op = OP_BY_DARTS_NAME.get(dartsOp);
    if (!op)
      throw new GenotypeError(
        cell,
        block,
        `op${side}`,
        dartsOp,
        `DARTS op ${dartsOp} is not one of nasnet's 13 operations (${[...OP_BY_DARTS_NAME.keys()].join(', ')})`,
      );
    if (!Number.isInteger(input) || input < 0 || input > block + 1) {
      throw new GenotypeError(
        cell,
        block,
        `input${side}`,
        input,
        `a DARTS input of block ${block} must be an integer from 0 to ${block + 1}`,
      );
    }
    return [op, dartsState(input)];
  };
  return Array.from({ length: blocks }, (_, block): Block => {
    const [opA, inputA] = pair(2 * block);
    const [opB, inputB] = pair(2 * block + 1);
    return [opA, inputA, opB, inputB, concatBlocks.has(block) ? 'concat' : 'add'];
  });
}

function dartsConcat(cell: CellName, value: PythonValue, pairs: PythonValue): number[] {
  const field = `${DARTS_CELLS[cell]}_concat`;
  const states = Array.isArray(pairs) ? pairs.length / 2 + 2 : 2;
  if (!Array.isArray(value) || value.length === 0) throw dartsError(cell, field, value, 'must be a non-empty list of states');
  return value.map((state) => {
    if (typeof state !== 'number' || !Number.isInteger(state) || state < 0 || state >= states) {
      throw dartsError(cell, field, state, `a concat entry must be a state from 0 to ${states - 1}`);
    }
    return dartsState(state);
  });
}

/** An explicit concat list equal to the paper's rule says nothing: dropping it lets ours → DARTS → ours round-trip exactly. */
function withoutDefaultConcat(genotype: {
  normal: Block[];
  reduction: Block[];
  normalConcat: number[];
  reductionConcat: number[];
}): Record<string, unknown> {
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((state, i) => state === b[i]);
  return {
    normal: genotype.normal,
    reduction: genotype.reduction,
    ...(same(genotype.normalConcat, unusedBlockStates(genotype.normal)) ? {} : { normalConcat: genotype.normalConcat }),
    ...(same(genotype.reductionConcat, unusedBlockStates(genotype.reduction))
      ? {}
      : { reductionConcat: genotype.reductionConcat }),
  };
}

function parseConcatComment(comment: string | null): { normal: Set<number>; reduce: Set<number> } {
  const blocks = { normal: new Set<number>(), reduce: new Set<number>() };
  if (!comment?.startsWith(CONCAT_COMMENT)) return blocks;
  for (const item of comment.slice(CONCAT_COMMENT.length).split(',')) {
    const match = /^\s*(normal|reduce) b(\d+)\s*$/.exec(item);
    if (!match) throw dartsError(null, 'comment', item.trim(), 'expected "normal bK" or "reduce bK"');
    blocks[match[1] as 'normal' | 'reduce'].add(Number(match[2]));
  }
  return blocks;
}

function dartsError(cell: CellName | null, field: string, value: unknown, reason: string): GenotypeError {
  return new GenotypeError(cell, null, field, value, reason);
}
