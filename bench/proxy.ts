/**
 * Does a preset's reward rank architectures? Trains, with a preset's search-time settings,
 * NASNet-A under S training seeds (the noise) and K random cells (the signal), then the same
 * K cells at a higher fidelity (more images and epochs), and compares the two rankings.
 *   npm run bench:proxy -- --json [--preset demo] [--cells 12] [--seeds 6] [--images-factor 4]
 *     [--epochs-factor 1] [--high-seeds 4] [--workers 2] [--recalibration <images>] [--cell-seed 1] [--no-high]
 *     [--training '{"validationFraction":0.2}'] [--filters f] [--epochs e]   (overrides of the preset)
 * Every child of one run shares the data split (as the children of one experiment do); each
 * gets its own training seed. NASNet-A is also trained under H seeds at the higher fidelity:
 * the noise of the ranking the proxy is measured against, which bounds the agreement it can
 * show. Prints one JSON object.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { sampleStandardDeviation, mean } from 'simple-statistics';
import { createStrategy } from '../core/controller/create-strategy.ts';
import { PRESETS, PRESET_NAMES, type PresetName } from '../core/runtime/presets.ts';
import type { SearchConfig } from '../core/runtime/search-config.ts';
import type { TrainingJob, TrainingResult } from '../core/runtime/trainer-plugin.ts';
import { trialSeed } from '../core/runtime/trial-runner.ts';
import { filtersNearPenultimate, type Genotype } from '../core/search-space/genotype.ts';
import { NASNET_A } from '../core/search-space/nasnet-a.ts';
import { cellHash } from '../core/search-space/canonical.ts';
import { loadDataset } from '../plugins/datasets/resolve.ts';
import { TrainerPool } from '../plugins/trainers/tfjs/pool/trainer-pool.ts';
import { trainSettings } from '../plugins/trainers/training-settings.ts';
import { kendallTau, spearman } from './rank-agreement.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'demo' },
    cells: { type: 'string', default: '12' },
    seeds: { type: 'string', default: '6' },
    'images-factor': { type: 'string', default: '4' },
    'epochs-factor': { type: 'string', default: '1' },
    'high-seeds': { type: 'string', default: '4' },
    workers: { type: 'string', default: String(Math.max(1, cpus().length)) },
    recalibration: { type: 'string' },
    training: { type: 'string' },
    filters: { type: 'string' },
    epochs: { type: 'string' },
    'cell-seed': { type: 'string', default: '1' },
    'data-seed': { type: 'string', default: '1' },
    'no-high': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const presetName = values.preset as PresetName;
if (!(PRESET_NAMES as readonly string[]).includes(presetName))
  throw new RangeError(`--preset must be one of ${PRESET_NAMES.join(', ')} (got ${JSON.stringify(values.preset)})`);
const preset = PRESETS[presetName].config;
const config: SearchConfig = {
  ...preset,
  ...(values.filters ? { network: { N: preset.network.N, filters: Number(values.filters) } } : {}),
  ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
  training: { ...preset.training, ...(values.training ? (JSON.parse(values.training) as Record<string, unknown>) : {}) },
};
const cellCount = Number(values.cells);
const seedCount = Number(values.seeds);
const imagesFactor = Number(values['images-factor']);
const epochsFactor = Number(values['epochs-factor']);
const dataSeed = Number(values['data-seed']);
const cellSeed = Number(values['cell-seed']);

const proxySettings: Record<string, unknown> = {
  ...config.training,
  ...(values.recalibration !== undefined ? { batchNormRecalibration: Number(values.recalibration) } : {}),
};
const resolved = trainSettings(proxySettings, { epochs: config.epochs });
const trainingImages = loadDataset(config.dataset).train.count * (1 - resolved.validationFraction);
const proxyImages = resolved.maxTrainExamples > 0 ? Math.min(resolved.maxTrainExamples, trainingImages) : trainingImages;
const highImages = Math.min(Math.round(proxyImages * imagesFactor), Math.floor(trainingImages));
const highSettings = { ...proxySettings, maxTrainExamples: highImages >= Math.floor(trainingImages) ? 0 : highImages };
const highEpochs = config.epochs * epochsFactor;

const filtersOf = (genotype: Genotype) =>
  'filters' in config.network ? config.network.filters : filtersNearPenultimate(genotype, config.network.F);

function job(id: string, genotype: Genotype, seed: number, fidelity: 'proxy' | 'high'): TrainingJob {
  return {
    experimentId: 'bench-proxy',
    sampleId: id,
    attempt: 1,
    genotype,
    network: { N: config.network.N, filters: filtersOf(genotype) },
    dataset: config.dataset,
    epochs: fidelity === 'proxy' ? config.epochs : highEpochs,
    seed,
    dataSeed,
    settings: fidelity === 'proxy' ? proxySettings : highSettings,
  };
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const pool = new TrainerPool({ workers: Number(values.workers) });
const never = new AbortController().signal;
const train = (j: TrainingJob) => pool.train(j, { signal: never, progress: () => undefined });

async function timed(jobs: TrainingJob[]): Promise<{ results: TrainingResult[]; wallSeconds: number }> {
  const started = performance.now();
  const results = await Promise.all(jobs.map(train));
  return { results, wallSeconds: (performance.now() - started) / 1000 };
}

const cells = Array.from({ length: cellCount }, (_, i) => createStrategy('random', cellSeed).sample(i).genotype);
const device = await pool.describe();
const seeds = await timed(
  Array.from({ length: seedCount }, (_, i) => job(`nasnet-a-${i}`, NASNET_A, trialSeed(dataSeed, 1_000 + i), 'proxy')),
);
const proxy = await timed(cells.map((genotype, i) => job(`cell-${i}`, genotype, trialSeed(dataSeed, i), 'proxy')));
const high = values['no-high']
  ? null
  : await timed(cells.map((genotype, i) => job(`cell-${i}-high`, genotype, trialSeed(dataSeed, i), 'high')));
const highSeedCount = values['no-high'] ? 0 : Number(values['high-seeds']);
const highSeeds =
  highSeedCount > 1
    ? await timed(
        Array.from({ length: highSeedCount }, (_, i) =>
          job(`nasnet-a-${i}-high`, NASNET_A, trialSeed(dataSeed, 1_000 + i), 'high'),
        ),
      )
    : null;
await pool.close();

const accuracies = (r: { results: TrainingResult[] }) => r.results.map((x) => x.validationAccuracy);
const seedStd = sampleStandardDeviation(accuracies(seeds));
const architectureStd = sampleStandardDeviation(accuracies(proxy));
const childSeconds = (r: { results: TrainingResult[] }) => mean(r.results.map((x) => x.seconds));
const output = {
  preset: presetName,
  seedStd: round(seedStd),
  architectureStd: round(architectureStd),
  signalToNoise: round(architectureStd / seedStd, 2),
  kendallTau: high ? round(kendallTau(accuracies(proxy), accuracies(high))) : null,
  spearman: high ? round(spearman(accuracies(proxy), accuracies(high))) : null,
  secondsPerChild: round(childSeconds(proxy), 1),
  wallSecondsPerChild: round(proxy.wallSeconds / cellCount, 1),
  highSecondsPerChild: high ? round(childSeconds(high), 1) : null,
  high: high && {
    seedStd: highSeeds ? round(sampleStandardDeviation(accuracies(highSeeds))) : null,
    architectureStd: round(sampleStandardDeviation(accuracies(high))),
    signalToNoise: highSeeds
      ? round(sampleStandardDeviation(accuracies(high)) / sampleStandardDeviation(accuracies(highSeeds)), 2)
      : null,
    nasnetA: highSeeds ? accuracies(highSeeds).map((x) => round(x)) : null,
  },
  nasnetA: { validationAccuracy: accuracies(seeds).map((x) => round(x)), mean: round(mean(accuracies(seeds))) },
  cells: cells.map((genotype, i) => ({
    cellHash: cellHash(genotype),
    proxy: round(proxy.results[i]!.validationAccuracy),
    high: high ? round(high.results[i]!.validationAccuracy) : null,
    params: proxy.results[i]!.params,
  })),
  settings: {
    cells: cellCount,
    seeds: seedCount,
    cellSeed,
    dataSeed,
    dataset: config.dataset,
    network: config.network,
    proxy: { epochs: config.epochs, trainImages: Math.round(proxyImages), training: resolved },
    high: { epochs: highEpochs, trainImages: highImages, imagesFactor, epochsFactor },
    evaluation: proxy.results[0]!.evaluation ?? null,
    workers: Number(values.workers),
    backend: device.backend,
  },
  wallSeconds: round(seeds.wallSeconds + proxy.wallSeconds + (high?.wallSeconds ?? 0) + (highSeeds?.wallSeconds ?? 0), 1),
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
};
console.log(values.json ? JSON.stringify(output) : JSON.stringify(output, null, 2));
