import type { Genotype } from './genotype.ts';

/**
 * NASNet-A, the paper's best cells, as in the reference implementation (README, "The search space").
 * Every block combines with `add`. The concat lists are the reference code's, which differ
 * slightly from the paper's "unused states" rule (the normal cell also concatenates
 * h_{i-1} and blocks that other blocks read); they are kept exactly.
 */
export const NASNET_A: Genotype = {
  normal: [
    ['sep_conv5x5', 0, 'sep_conv3x3', 1, 'add'],
    ['sep_conv5x5', 1, 'sep_conv3x3', 1, 'add'],
    ['avg_pool3x3', 0, 'identity', 1, 'add'],
    ['avg_pool3x3', 1, 'avg_pool3x3', 1, 'add'],
    ['sep_conv3x3', 0, 'identity', 0, 'add'],
  ],
  normalConcat: [1, 2, 3, 4, 5, 6],
  reduction: [
    ['sep_conv5x5', 0, 'sep_conv7x7', 1, 'add'],
    ['max_pool3x3', 0, 'sep_conv7x7', 1, 'add'],
    ['avg_pool3x3', 0, 'sep_conv5x5', 1, 'add'],
    ['identity', 3, 'avg_pool3x3', 2, 'add'],
    ['sep_conv3x3', 2, 'max_pool3x3', 0, 'add'],
  ],
  reductionConcat: [3, 4, 5, 6],
};
