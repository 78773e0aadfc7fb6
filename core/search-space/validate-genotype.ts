import { Compile } from 'typebox/compile';
import { BLOCK_FIELDS, CELL_NAMES, genotypeSchema, MAX_BLOCKS_PER_CELL, type Genotype } from './genotype.ts';

const check = Compile(genotypeSchema);

/** A genotype refused, naming where: `normal cell, block 2, inputB: must be <= 3 (got 9)`. */
export class GenotypeError extends Error {
  constructor(
    /** `normal`, `reduction`, or null for the genotype as a whole. */
    readonly cell: string | null,
    /** Block index, or null when the problem is not inside one block. */
    readonly block: number | null,
    /** `opA`, `inputA`, `opB`, `inputB`, `combine`, `blocks`, `normalConcat`, ... */
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    const where = [cell && `${cell} cell`, block !== null && `block ${block}`, field].filter(Boolean).join(', ');
    super(`invalid genotype: ${where}: ${reason} (got ${JSON.stringify(value) ?? String(value)})`);
    this.name = 'GenotypeError';
  }
}

/** Checks a genotype's JSON form; returns it typed or throws GenotypeError for the first problem. */
export function validateGenotype(value: unknown): Genotype {
  if (check.Check(value)) return checkConcatStates(value);
  const error = check.Errors(value)[0];
  const path = (error?.instancePath ?? '').split('/').slice(1);
  const at = (keys: readonly string[]) =>
    keys.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
  const reason = describe(error?.keyword, error?.message ?? 'is invalid', error?.params);
  const [top, blockKey, fieldKey] = path;
  if (top === 'normal' || top === 'reduction') {
    const blocks = at([top]);
    if (blockKey === undefined || (fieldKey === undefined && Number(blockKey) >= MAX_BLOCKS_PER_CELL)) {
      if (!Array.isArray(blocks)) return fail(new GenotypeError(top, null, 'blocks', blocks, reason));
      return fail(new GenotypeError(top, null, 'blocks', blocks.length, `a cell has 1 to ${MAX_BLOCKS_PER_CELL} blocks`));
    }
    const block = Number(blockKey);
    if (fieldKey === undefined) {
      return fail(
        new GenotypeError(top, block, 'block', at([top, blockKey]), `a block is [opA, inputA, opB, inputB, combine]; ${reason}`),
      );
    }
    const field = BLOCK_FIELDS[Number(fieldKey)] ?? fieldKey;
    return fail(new GenotypeError(top, block, field, at(path), reason));
  }
  if (top === undefined && error?.keyword === 'required') {
    const missing = (error.params as { requiredProperties: string[] }).requiredProperties[0] ?? '?';
    return fail(new GenotypeError(null, null, missing, undefined, 'is missing'));
  }
  return fail(new GenotypeError(null, null, path.join('.') || 'genotype', at(path), reason));
}

/** The schema bounds concat states by the longest cell; each list must name states its own cell has. */
function checkConcatStates(genotype: Genotype): Genotype {
  for (const cell of CELL_NAMES) {
    const concat = cell === 'normal' ? genotype.normalConcat : genotype.reductionConcat;
    const last = genotype[cell].length + 1;
    const outside = concat?.find((state) => state > last);
    if (outside !== undefined)
      fail(new GenotypeError(null, null, `${cell}Concat`, outside, `must be a state of the ${cell} cell, 0 to ${last}`));
  }
  return genotype;
}

function fail(error: GenotypeError): never {
  throw error;
}

function describe(keyword: string | undefined, message: string, params: unknown): string {
  if (keyword === 'enum') return `must be one of ${(params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (keyword === 'type' && (params as { type: string }).type === 'integer') return 'must be an integer';
  if (keyword === 'boolean') return 'is not a known field';
  return message;
}
