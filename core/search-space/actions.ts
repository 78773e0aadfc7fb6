import { BLOCKS_PER_CELL, CELL_NAMES, COMBINES, OPS, type Block, type CellName, type Genotype } from './genotype.ts';

/** What one controller decision chooses. */
export type DecisionKind = 'input' | 'op' | 'combine';

export interface Decision {
  cell: CellName;
  block: number;
  field: 'inputA' | 'inputB' | 'opA' | 'opB' | 'combine';
  kind: DecisionKind;
  /** Size of the choice set: k + 2 hidden states for block k, 13 ops, 2 combines. */
  choices: number;
}

/**
 * The controller's decisions in the order it makes them (paper §3): for the normal cell then
 * the reduction cell, for each block: input A, input B, operation on A, operation on B,
 * combine. 2 × 5 × 5 = 50.
 */
export const DECISIONS: readonly Decision[] = CELL_NAMES.flatMap((cell) =>
  Array.from({ length: BLOCKS_PER_CELL }, (_, block): Decision[] => [
    { cell, block, field: 'inputA', kind: 'input', choices: block + 2 },
    { cell, block, field: 'inputB', kind: 'input', choices: block + 2 },
    { cell, block, field: 'opA', kind: 'op', choices: OPS.length },
    { cell, block, field: 'opB', kind: 'op', choices: OPS.length },
    { cell, block, field: 'combine', kind: 'combine', choices: COMBINES.length },
  ]).flat(),
);

export const ACTION_COUNT = DECISIONS.length;

/** The 50 actions that produce this genotype's cells (concat lists are not decisions). */
export function encodeActions(genotype: Genotype): number[] {
  for (const cell of CELL_NAMES) {
    if (genotype[cell].length !== BLOCKS_PER_CELL) {
      throw new RangeError(
        `the controller's cells have ${BLOCKS_PER_CELL} blocks; this ${cell} cell has ${genotype[cell].length}`,
      );
    }
  }
  return CELL_NAMES.flatMap((cell) => genotype[cell].flatMap(blockActions));
}

/** The five decisions of one block, in the controller's order. */
export function blockActions([opA, inputA, opB, inputB, combine]: Block): number[] {
  return [inputA, inputB, OPS.indexOf(opA), OPS.indexOf(opB), COMBINES.indexOf(combine)];
}

/** The genotype 50 actions describe; concat lists follow the paper's unused-states rule. */
export function decodeActions(actions: readonly number[]): Genotype {
  if (actions.length !== ACTION_COUNT) {
    throw new RangeError(`an architecture is ${ACTION_COUNT} actions, got ${actions.length}`);
  }
  actions.forEach((action, t) => {
    const decision = DECISIONS[t]!;
    if (!Number.isInteger(action) || action < 0 || action >= decision.choices) {
      throw new RangeError(
        `action ${t} (${decision.cell} cell, block ${decision.block}, ${decision.field}) must be an integer in 0..${decision.choices - 1}, got ${action}`,
      );
    }
  });
  const cell = (offset: number) =>
    Array.from({ length: BLOCKS_PER_CELL }, (_, block): Block => {
      const [inputA, inputB, opA, opB, combine] = actions.slice(offset + block * 5, offset + block * 5 + 5) as number[];
      return [OPS[opA!]!, inputA!, OPS[opB!]!, inputB!, COMBINES[combine!]!];
    }) as Genotype['normal'];
  return { normal: cell(0), reduction: cell(BLOCKS_PER_CELL * 5) };
}
