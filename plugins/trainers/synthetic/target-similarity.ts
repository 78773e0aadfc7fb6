import { blockActions, encodeActions } from '../../../core/search-space/actions.ts';
import { BLOCKS_PER_CELL, CELL_NAMES, type Genotype } from '../../../core/search-space/genotype.ts';

/**
 * A synthetic objective with a known best cell: the fraction of the controller's 50
 * decisions that agree with a hidden target genotype. It costs microseconds, so strategies
 * can be compared over thousands of samples; the target itself scores 1.
 */
export function targetSimilarity(target: Genotype): (genotype: Genotype) => number {
  const wanted = encodeActions(target);
  return (genotype) => {
    const actions = positionalActions(genotype);
    let same = 0;
    for (let i = 0; i < wanted.length; i++) if (actions[i] === wanted[i]) same++;
    return same / wanted.length;
  };
}

/** Block by block, so a cell imported with fewer or more blocks (DARTS has 4) scores on the blocks it shares. */
function positionalActions(genotype: Genotype): number[] {
  return CELL_NAMES.flatMap((cell) =>
    Array.from({ length: BLOCKS_PER_CELL }, (_, k) => {
      const block = genotype[cell][k];
      return block ? blockActions(block) : [-1, -1, -1, -1, -1];
    }).flat(),
  );
}
