import { cellConcat, type CellName, type Genotype } from '../../core/search-space/genotype.ts';
import { cellDot, cellText } from '../../core/search-space/render.ts';

/** One cell of a genotype, as Sample and Transfer hand it down to Cell. */
export interface CellParent {
  genotype: Genotype;
  cell: CellName;
}

export const cellResolvers = {
  blocks: ({ genotype, cell }: CellParent) =>
    genotype[cell].map(([opA, inputA, opB, inputB, combine]) => ({ opA, inputA, opB, inputB, combine })),
  concat: ({ genotype, cell }: CellParent) => cellConcat(genotype, cell),
  text: ({ genotype, cell }: CellParent) => cellText(genotype, cell).join('\n'),
  dot: ({ genotype, cell }: CellParent) => cellDot(genotype, cell),
};
