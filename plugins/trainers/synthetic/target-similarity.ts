import { encodeActions } from '../../../core/search-space/actions.ts';
import type { Genotype } from '../../../core/search-space/genotype.ts';

/**
 * A synthetic objective with a known best cell: the fraction of the controller's 50
 * decisions that agree with a hidden target genotype. It costs microseconds, so strategies
 * can be compared over thousands of samples; the target itself scores 1.
 */
export function targetSimilarity(target: Genotype): (genotype: Genotype) => number {
  const wanted = encodeActions(target);
  return (genotype) => {
    const actions = encodeActions(genotype);
    let same = 0;
    for (let i = 0; i < wanted.length; i++) if (actions[i] === wanted[i]) same++;
    return same / wanted.length;
  };
}
