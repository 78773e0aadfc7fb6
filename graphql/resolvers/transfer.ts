import { dartsText } from '../../core/search-space/darts.ts';
import type { Transfer } from '../../core/projections/queries.ts';
import type { CellParent } from './cell.ts';

export const transferResolvers = {
  id: (transfer: Transfer) => transfer.transferId,
  normal: (transfer: Transfer): CellParent => ({ genotype: transfer.genotype, cell: 'normal' }),
  reduction: (transfer: Transfer): CellParent => ({ genotype: transfer.genotype, cell: 'reduction' }),
  darts: (transfer: Transfer) => dartsText(transfer.genotype),
};
