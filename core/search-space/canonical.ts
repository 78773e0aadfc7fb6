import { createHash } from 'node:crypto';
import { cellConcat, CELL_NAMES, type CellName, type Genotype } from './genotype.ts';

/**
 * A cell's canonical form: for each state the cell outputs, the expression that computes
 * it from the cell inputs `h0` (h_i) and `h1` (h_{i-1}), e.g.
 * `add(avg_pool3x3(h0),identity(h1))`. Expressions forget how blocks were numbered and
 * ordered, drop blocks nothing uses, and sort the operands of `add` (commutative). The
 * output list is sorted too: the next cell reads a cell's output through a learned 1×1
 * convolution, so the order of the concatenated channels does not change what the network
 * can compute. `concat` as a block combine keeps its operand order: a later `add` would
 * pair different channels.
 */
export function canonicalCell(genotype: Genotype, cell: CellName): string[] {
  const blocks = genotype[cell];
  const memo = new Map<number, string>();
  const expression = (state: number): string => {
    if (state < 2) return `h${state}`;
    const cached = memo.get(state);
    if (cached) return cached;
    const [opA, inputA, opB, inputB, combine] = blocks[state - 2]!;
    const operands = [`${opA}(${expression(inputA)})`, `${opB}(${expression(inputB)})`];
    if (combine === 'add') operands.sort();
    const text = `${combine}(${operands.join(',')})`;
    memo.set(state, text);
    return text;
  };
  return cellConcat(genotype, cell).map(expression).sort();
}

export interface CanonicalGenotype {
  normal: string[];
  reduction: string[];
}

export function canonicalGenotype(genotype: Genotype): CanonicalGenotype {
  return { normal: canonicalCell(genotype, 'normal'), reduction: canonicalCell(genotype, 'reduction') };
}

/** 16 hex digits (64 bits) of SHA-256 over the canonical form: equal for cells that compute the same function. */
export function cellHash(genotype: Genotype): string {
  const canonical = canonicalGenotype(genotype);
  return createHash('sha256')
    .update(CELL_NAMES.map((cell) => canonical[cell].join(';')).join('|'))
    .digest('hex')
    .slice(0, 16);
}
