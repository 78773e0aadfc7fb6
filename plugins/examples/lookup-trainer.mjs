// @ts-check
// A trainer plugin that trains nothing: it looks each cell up in a table of known results,
// like the tabular NAS benchmarks (NAS-Bench-101/201). Plain JavaScript, so it can be copied
// and run without TypeScript. Usage and table format: README.md next to this file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {import('../../core/runtime/trainer-plugin.ts').TrainerFactory} TrainerFactory */
/** @typedef {import('../../core/search-space/genotype.ts').Genotype} Genotype */

/** JSON with sorted keys at every level: the same genotype always gives the same text. */
function stableJson(/** @type {unknown} */ value) {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = /** @type {Record<string, unknown>} */ (value);
    return `{${Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(object[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A table key: 16 hex digits of SHA-256 over the genotype exactly as written (block order and concat lists count). */
export function genotypeKey(/** @type {Genotype} */ genotype) {
  return createHash('sha256').update(stableJson(genotype)).digest('hex').slice(0, 16);
}

const isAccuracy = (/** @type {unknown} */ value) => typeof value === 'number' && value >= 0 && value <= 1;

/** @type {TrainerFactory} */
export function createTrainer({ options }) {
  const { table: tablePath, default: fallback = 0.1, ...unknown } = options;
  const extra = Object.keys(unknown)[0];
  if (extra !== undefined) throw new Error(`lookup trainer: unknown option ${JSON.stringify(extra)} (known: table, default)`);
  if (typeof tablePath !== 'string')
    throw new Error('lookup trainer: option table is required: a JSON file {"<genotype key>": accuracy, ...}');
  if (!isAccuracy(fallback))
    throw new Error(`lookup trainer: option default must be a number in [0, 1] (got ${JSON.stringify(fallback)})`);
  /** @type {Record<string, unknown>} */
  let table;
  try {
    table = JSON.parse(readFileSync(resolve(tablePath), 'utf8'));
  } catch (error) {
    throw new Error(`lookup trainer: cannot read the table ${resolve(tablePath)}: ${/** @type {Error} */ (error).message}`);
  }
  if (typeof table !== 'object' || table === null || Array.isArray(table))
    throw new Error(`lookup trainer: ${tablePath} must hold a JSON object`);
  for (const [key, value] of Object.entries(table)) {
    if (!isAccuracy(value))
      throw new Error(`lookup trainer: ${tablePath}: ${key} must map to an accuracy in [0, 1] (got ${JSON.stringify(value)})`);
  }
  return {
    name: 'lookup',
    describe: async () => ({ backend: 'lookup', device: 'none' }),
    async train(job, { signal, progress }) {
      if (signal.aborted) throw Object.assign(new Error('training was aborted'), { name: 'AbortError' });
      const key = genotypeKey(job.genotype);
      const accuracy = /** @type {number} */ (Object.hasOwn(table, key) ? table[key] : fallback);
      if (job.epochs > 0) progress({ epoch: job.epochs, epochs: job.epochs, metrics: { validationAccuracy: accuracy } });
      return {
        validationAccuracy: accuracy,
        testAccuracy: null,
        loss: 0,
        params: 0,
        multAdds: 0,
        seconds: 0,
        imagesPerSec: 0,
        backend: 'lookup',
        device: 'none',
      };
    },
  };
}

// `node lookup-trainer.mjs cell.json` (or `-` for stdin) prints a genotype's key, for adding rows.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? '-';
  process.stdout.write(`${genotypeKey(JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')))}\n`);
}
