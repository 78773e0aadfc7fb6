import { DARTS_V2 } from '../../core/search-space/reference-cells.ts';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtInTrainers, resolveTrainer } from '../../cli/trainers.ts';
import {
  TrainingFailure,
  type TrainerContext,
  type TrainingJob,
  type TrainingProgress,
} from '../../core/runtime/trainer-plugin.ts';
import type { Genotype } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { syntheticTarget } from '../../plugins/trainers/synthetic/synthetic-trainer.ts';
import { createTrainer as createTfjsTrainer } from '../../plugins/trainers/tfjs/tfjs-trainer.ts';

const EXAMPLE = fileURLToPath(new URL('../../plugins/examples/lookup-trainer.mjs', import.meta.url));
const TABLE = fileURLToPath(new URL('../../plugins/examples/known-results.json', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'nasnet-trainer-plugins-'));
after(() => rm(dir, { recursive: true, force: true }));

function job(genotype: Genotype, epochs = 2): TrainingJob {
  return {
    experimentId: 'e',
    sampleId: 'e-0',
    attempt: 1,
    genotype,
    network: { N: 1, filters: 4 },
    dataset: 'fashion-mnist-mini',
    epochs,
    seed: 1,
  };
}

function context(signal: AbortSignal = new AbortController().signal): TrainerContext & { seen: TrainingProgress[] } {
  const seen: TrainingProgress[] = [];
  return { signal, seen, progress: (p) => seen.push(p) };
}

/** A module in the temporary directory, for the ways a plugin file can be wrong. */
async function moduleFile(name: string, source: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, source);
  return path;
}

/** Asserts that the error names `--trainer` and the value given. */
async function rejectsNaming(promise: Promise<unknown>, spec: string, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error.message.startsWith(`--trainer ${JSON.stringify(spec)}: `), error.message);
    assert.match(error.message, reason);
    return true;
  });
}

describe('resolveTrainer', () => {
  it('lists the built-in trainers', () => {
    assert.deepEqual(builtInTrainers(), ['tfjs', 'synthetic', 'process', 'torch']);
  });

  it('loads the example lookup trainer by a path relative to the working directory and trains from its table', async () => {
    const spec = `./${relative(process.cwd(), EXAMPLE)}`;
    const plugin = await resolveTrainer(spec, { concurrency: 1, options: { table: TABLE, default: 0.25 } });
    assert.equal(plugin.name, 'lookup');
    const { genotypeKey } = (await import(pathToFileURL(EXAMPLE).href)) as { genotypeKey(genotype: Genotype): string };
    const table = JSON.parse(await readFile(TABLE, 'utf8')) as Record<string, number>;
    const known = table[genotypeKey(NASNET_A)];
    assert.equal(typeof known, 'number', 'the shipped table has NASNet-A');

    const ctx = context();
    const result = await plugin.train(job(NASNET_A), ctx);
    assert.equal(result.validationAccuracy, known);
    assert.deepEqual(ctx.seen, [{ epoch: 2, epochs: 2, metrics: { validationAccuracy: known } }]);

    const unknown = await plugin.train(job(syntheticTarget(12345)), context());
    assert.equal(unknown.validationAccuracy, 0.25, 'a cell not in the table gets options.default');
    const withDefault = await resolveTrainer(EXAMPLE, { concurrency: 1, options: { table: TABLE } });
    assert.equal((await withDefault.train(job(syntheticTarget(12345)), context())).validationAccuracy, 0.1);
    await rejectsNaming(
      resolveTrainer(EXAMPLE, { concurrency: 1, options: { table: TABLE, tabel: 1 } }),
      EXAMPLE,
      /unknown option "tabel"/,
    );
  });

  it('accepts a default export and a TypeScript module', async () => {
    const js = await moduleFile(
      'default.mjs',
      'export default () => ({ name: "d", train: async () => { throw new Error("unused"); } });\n',
    );
    assert.equal((await resolveTrainer(js, { concurrency: 1, options: {} })).name, 'd');
    const ts = await moduleFile(
      'typed.ts',
      `import type { TrainerFactory } from ${JSON.stringify(fileURLToPath(new URL('../../core/runtime/trainer-plugin.ts', import.meta.url)))};\n` +
        'export const createTrainer: TrainerFactory = ({ concurrency }) => ({ name: `t${concurrency}`, train: async () => { throw new Error("unused"); } });\n',
    );
    assert.equal((await resolveTrainer(ts, { concurrency: 3, options: {} })).name, 't3');
  });

  it('names --trainer and the value in every failure', async () => {
    const missing = join(dir, 'missing.mjs');
    await rejectsNaming(resolveTrainer(missing, { concurrency: 1, options: {} }), missing, /no such file/);
    await rejectsNaming(
      resolveTrainer('./nope/missing.js', { concurrency: 1, options: {} }),
      './nope/missing.js',
      /no such file .*nope\/missing\.js/,
    );

    const noFactory = await moduleFile('no-factory.mjs', 'export const trainer = 1;\n');
    await rejectsNaming(resolveTrainer(noFactory, { concurrency: 1, options: {} }), noFactory, /exports no trainer factory/);

    const notPlugin = await moduleFile('not-plugin.mjs', 'export function createTrainer() { return { name: "half" }; }\n');
    await rejectsNaming(
      resolveTrainer(notPlugin, { concurrency: 1, options: {} }),
      notPlugin,
      /returned \{"name":"half"\}, which is not a trainer plugin/,
    );

    const throws = await moduleFile('throws.mjs', 'export function createTrainer() { throw new Error("no GPU here"); }\n');
    await rejectsNaming(resolveTrainer(throws, { concurrency: 1, options: {} }), throws, /no GPU here/);

    const broken = await moduleFile('broken.mjs', 'export function createTrainer( {\n');
    await rejectsNaming(resolveTrainer(broken, { concurrency: 1, options: {} }), broken, /cannot load/);

    await rejectsNaming(
      resolveTrainer('tfjs-gpu', { concurrency: 1, options: {} }),
      'tfjs-gpu',
      /not a built-in trainer \(tfjs, synthetic, process, torch\) nor a module path/,
    );
  });
});

describe('the tfjs trainer factory', () => {
  it('checks its options before any worker starts', async () => {
    assert.throws(
      () => createTfjsTrainer({ concurrency: 1, options: { backend: 'gpu' } }),
      /option backend must be one of tensorflow-gpu, webgpu, tensorflow, wasm, cpu \(got "gpu"\)/,
    );
    assert.throws(() => createTfjsTrainer({ concurrency: 1, options: { bakend: 'wasm' } }), /unknown option "bakend"/);
    assert.throws(() => createTfjsTrainer({ concurrency: 1, options: { batchSize: 0 } }), /option batchSize .*\(got 0\)/);
    assert.throws(() => createTfjsTrainer({ concurrency: 0, options: {} }), /concurrency must be a whole number >= 1/);
    await rejectsNaming(resolveTrainer('tfjs', { concurrency: 1, options: { epochs: 3 } }), 'tfjs', /unknown option "epochs"/);
  });
});

describe('the synthetic trainer', () => {
  const synthetic = (options: Record<string, unknown> = {}) => resolveTrainer('synthetic', { concurrency: 4, options });

  it('scores its hidden target 1 and any other cell in [0, 1], the same every time', async () => {
    const plugin = await synthetic({ targetSeed: 7 });
    assert.equal(plugin.name, 'synthetic');
    assert.deepEqual(await plugin.describe?.(), { backend: 'synthetic', device: 'none' });
    const ctx = context();
    const result = await plugin.train(job(syntheticTarget(7), 3), ctx);
    assert.equal(result.validationAccuracy, 1);
    assert.deepEqual(
      ctx.seen.map((p) => p.epoch),
      [1, 2, 3],
    );
    assert.equal(ctx.seen.at(-1)!.metrics['validationAccuracy'], 1);
    assert.deepEqual(
      { ...result, seconds: 0 },
      {
        validationAccuracy: 1,
        testAccuracy: null,
        loss: 0,
        params: 0,
        multAdds: 0,
        seconds: 0,
        imagesPerSec: 0,
        backend: 'synthetic',
        device: 'none',
        evaluation: { batchNorm: 'none', recalibrationImages: 0 },
      },
    );

    const reward = (await plugin.train(job(NASNET_A), context())).validationAccuracy;
    assert.ok(reward >= 0 && reward < 1, `NASNet-A scores ${reward}`);
    const fourBlocks = (await plugin.train(job(DARTS_V2), context())).validationAccuracy;
    assert.ok(fourBlocks >= 0 && fourBlocks < 1, `a four-block cell from DARTS scores ${fourBlocks}`);
    assert.equal(
      (await (await synthetic({ targetSeed: 7 })).train(job(NASNET_A), context())).validationAccuracy,
      reward,
      'same seed, same reward',
    );
    assert.deepEqual(syntheticTarget(7), syntheticTarget(7));
    assert.notDeepEqual(syntheticTarget(7), syntheticTarget(8));
    assert.equal(
      (await (await synthetic()).train(job(syntheticTarget(0)), context())).validationAccuracy,
      1,
      'targetSeed defaults to 0',
    );
  });

  it('stops promptly when aborted, with a retryable failure', async () => {
    const plugin = await synthetic({ delayMs: 10_000 });
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(plugin.train(job(NASNET_A), context(controller.signal)), (error: unknown) => {
      assert.ok(error instanceof TrainingFailure);
      assert.equal(error.retryable, true);
      assert.equal(error.name, 'AbortError');
      return true;
    });
    assert.ok(performance.now() - started < 1000, 'well before the 10 s delay');
    await assert.rejects(plugin.train(job(NASNET_A), context(AbortSignal.abort())), TrainingFailure);

    const slow = await synthetic({ delayMs: 60 });
    const timed = performance.now();
    await slow.train(job(NASNET_A, 3), context());
    assert.ok(performance.now() - timed >= 55, 'delayMs is the whole training, spread over the epochs');
  });

  it('fails every n-th call with a retryable TrainingFailure when asked', async () => {
    const plugin = await synthetic({ failEvery: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await plugin.train(job(NASNET_A), context());
        outcomes.push('ok');
      } catch (error) {
        assert.ok(error instanceof TrainingFailure && error.retryable);
        outcomes.push('failed');
      }
    }
    assert.deepEqual(outcomes, ['ok', 'ok', 'failed', 'ok', 'ok', 'failed']);
  });

  it('refuses unknown and bad options, naming them', async () => {
    await rejectsNaming(
      synthetic({ failevery: 2 }),
      'synthetic',
      /unknown option "failevery" \(known: targetSeed, delayMs, failEvery\)/,
    );
    await rejectsNaming(synthetic({ delayMs: -1 }), 'synthetic', /option delayMs must be a number >= 0 \(got -1\)/);
    await rejectsNaming(synthetic({ targetSeed: 1.5 }), 'synthetic', /option targetSeed must be a whole number \(got 1.5\)/);
  });
});
