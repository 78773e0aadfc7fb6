import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { canonicalGenotype, cellHash } from '../../core/search-space/canonical.ts';
import type { Genotype } from '../../core/search-space/genotype.ts';
import { looksLikeDarts, parseDartsGenotype, dartsText } from '../../core/search-space/darts.ts';
import { REFERENCE_CELLS } from '../../core/search-space/reference-cells.ts';
import { cellDot, genotypeText } from '../../core/search-space/render.ts';
import { validateGenotype } from '../../core/search-space/validate-genotype.ts';

const FORMATS = ['text', 'json', 'dot', 'darts', 'hash', 'canonical'] as const;
type Format = (typeof FORMATS)[number];

/** What `--genotype` and `nasnet genotype` accept, for help texts. */
export const GENOTYPE_SOURCES = `${Object.keys(REFERENCE_CELLS).join(', ')}, a JSON or DARTS genotype file, or a DARTS Genotype(...) string`;

/** A published cell by name, a file holding our JSON or DARTS's Genotype(...), or that text itself; validated. */
export async function loadGenotype(source: string): Promise<Genotype> {
  const reference = REFERENCE_CELLS[source];
  if (reference) return reference;
  if (looksLikeDarts(source) && !existsSync(source)) return parseDartsGenotype(source);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (error) {
    throw new Error(`cannot read genotype file ${source}: ${(error as Error).message}`);
  }
  if (looksLikeDarts(text)) return parseDartsGenotype(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is neither JSON nor a DARTS Genotype(...): ${(error as Error).message}`);
  }
  return validateGenotype(value);
}

/** `nasnet genotype`: checks and renders a cell pair. */
export function registerGenotypeCommand(program: Command): void {
  program
    .command('genotype')
    .description(
      "validate a genotype (a published cell, our JSON or DARTS's Genotype(...)) and print it as text, JSON, Graphviz dot, DARTS, its hash or canonical form",
    )
    .argument('<genotype>', GENOTYPE_SOURCES)
    .option(
      '--format <format>',
      `one of ${FORMATS.join(', ')}`,
      (value: string): Format => {
        if (!(FORMATS as readonly string[]).includes(value)) {
          throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
        }
        return value as Format;
      },
      'text',
    )
    .action(async (source: string, options: { format: Format }) => {
      const genotype = await loadGenotype(source);
      const out: Record<Format, () => string> = {
        text: () => genotypeText(genotype),
        json: () => JSON.stringify(genotype),
        dot: () => `${cellDot(genotype, 'normal')}\n${cellDot(genotype, 'reduction')}`,
        darts: () => dartsText(genotype),
        hash: () => cellHash(genotype),
        canonical: () => JSON.stringify(canonicalGenotype(genotype), null, 2),
      };
      process.stdout.write(`${out[options.format]()}\n`);
    });
}
