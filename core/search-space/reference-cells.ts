import type { Genotype } from './genotype.ts';
import { NASNET_A } from './nasnet-a.ts';

/**
 * AmoebaNet-A (Real et al., 2019), as DARTS's genotypes.py lists it, in our numbering
 * (0 = h[i], 1 = h[i-1]). Every block adds; the concat lists are the paper's rule.
 */
export const AMOEBANET_A: Genotype = {
  normal: [
    ['avg_pool3x3', 1, 'max_pool3x3', 0, 'add'],
    ['sep_conv3x3', 1, 'sep_conv5x5', 2, 'add'],
    ['sep_conv3x3', 1, 'avg_pool3x3', 3, 'add'],
    ['sep_conv3x3', 0, 'identity', 0, 'add'],
    ['identity', 1, 'avg_pool3x3', 0, 'add'],
  ],
  reduction: [
    ['avg_pool3x3', 1, 'sep_conv3x3', 0, 'add'],
    ['max_pool3x3', 1, 'sep_conv7x7', 2, 'add'],
    ['sep_conv7x7', 1, 'avg_pool3x3', 0, 'add'],
    ['max_pool3x3', 1, 'max_pool3x3', 0, 'add'],
    ['conv1x7_7x1', 1, 'sep_conv3x3', 5, 'add'],
  ],
};

/**
 * DARTS (second order) from Liu et al., 2019: four blocks per cell, and every block output
 * joins the concat, read or not.
 */
export const DARTS_V2: Genotype = {
  normal: [
    ['sep_conv3x3', 1, 'sep_conv3x3', 0, 'add'],
    ['sep_conv3x3', 1, 'sep_conv3x3', 0, 'add'],
    ['sep_conv3x3', 0, 'identity', 1, 'add'],
    ['identity', 1, 'dil_conv3x3', 2, 'add'],
  ],
  normalConcat: [2, 3, 4, 5],
  reduction: [
    ['max_pool3x3', 1, 'max_pool3x3', 0, 'add'],
    ['identity', 2, 'max_pool3x3', 0, 'add'],
    ['max_pool3x3', 1, 'identity', 2, 'add'],
    ['identity', 2, 'max_pool3x3', 0, 'add'],
  ],
  reductionConcat: [2, 3, 4, 5],
};

/** Published cells by the names `--genotype` and `nasnet genotype` accept. */
export const REFERENCE_CELLS: Readonly<Record<string, Genotype>> = {
  'nasnet-a': NASNET_A,
  'amoebanet-a': AMOEBANET_A,
  'darts-v2': DARTS_V2,
};
