import { DEFAULT_TRIALS, type SearchConfig } from './search-config.ts';

export const PRESET_NAMES = ['tiny', 'demo', 'small', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** A preset: the configuration it stands for, and how many local workers it runs by default. */
export interface Preset {
  config: SearchConfig;
  workers: number;
  description: string;
}

// Search-time training is short on purpose (the paper trains each child 20 epochs and only
// the final cells long): a child's reward must rank cells, not reach its best accuracy.
// Adam learns fastest in a few hundred steps, so the CPU presets use it. Measured with
// bench:proxy (README), three things keep seed noise below the differences between cells:
// batch norm recalibrated before evaluating, the rate decayed to 0 by a cosine, and a
// validation split of 20% (1,510 images) shared by every child of the experiment.
const quickTraining = {
  optimizer: 'adam',
  learningRate: 0.01,
  learningRateSchedule: 'cosine',
  batchSize: 32,
  augment: false,
  batchNormRecalibration: 512,
};

export const PRESETS: Record<PresetName, Preset> = {
  tiny: {
    description:
      'for tests: 8 samples in batches of 4, 2 workers, children with 2 first-stack filters trained one pass over 384 images (about 1.5 minutes on 2 cores)',
    workers: 2,
    config: {
      preset: 'tiny',
      strategy: 'ppo',
      controller: { batchSize: 4 },
      samples: 8,
      trainer: 'tfjs',
      trainerOptions: {},
      dataset: 'fashion-mnist-mini',
      network: { N: 1, filters: 2 },
      epochs: 1,
      training: { ...quickTraining, maxTrainExamples: 384, validationFraction: 0.05 },
      reuse: true,
      trials: { ...DEFAULT_TRIALS },
    },
  },
  demo: {
    description:
      'the npm start demo: 16 samples in batches of 4 on fashion-mnist-mini, children with 4 first-stack filters trained one pass over 1,536 images, 2 workers (under 5 minutes on 2 cores)',
    workers: 2,
    config: {
      preset: 'demo',
      strategy: 'ppo',
      controller: { batchSize: 4 },
      samples: 16,
      trainer: 'tfjs',
      trainerOptions: {},
      dataset: 'fashion-mnist-mini',
      network: { N: 1, filters: 4 },
      epochs: 1,
      // batches of 16: twice the steps of 32 for the same images, which ranked cells more like a 4× longer training
      training: { ...quickTraining, batchSize: 16, maxTrainExamples: 1536, validationFraction: 0.2 },
      reuse: true,
      trials: { ...DEFAULT_TRIALS },
    },
  },
  small: {
    description:
      '200 samples in batches of 10 on fashion-mnist-mini, children N=1 with 8 filters trained one pass over all 6,040 training images (hours on 2 cores, minutes on a GPU)',
    workers: 2,
    config: {
      preset: 'small',
      strategy: 'ppo',
      controller: { batchSize: 10 },
      samples: 200,
      trainer: 'tfjs',
      trainerOptions: {},
      dataset: 'fashion-mnist-mini',
      network: { N: 1, filters: 8 },
      epochs: 1,
      training: { ...quickTraining, validationFraction: 0.2 },
      reuse: true,
      trials: { ...DEFAULT_TRIALS },
    },
  },
  paper: {
    description:
      "the paper's search: 20,000 children on CIFAR-10 (45k train / 5k held out), 20 epochs each, PPO with batches of 20 (needs a GPU cluster)",
    workers: 1,
    config: {
      preset: 'paper',
      strategy: 'ppo',
      controller: {},
      samples: 20_000,
      trainer: 'tfjs',
      trainerOptions: {},
      dataset: 'cifar10',
      network: { N: 2, filters: 32 },
      epochs: 20,
      training: {
        optimizer: 'sgd',
        learningRate: 0.05,
        learningRateSchedule: 'cosine',
        validationFraction: 0.1,
        batchNormRecalibration: 512,
      },
      reuse: true,
      trials: { ...DEFAULT_TRIALS, leaseSeconds: 3600 },
    },
  },
};

/** Config fields whose objects a configuration given over a preset merges into, field by field; others it replaces. */
const MERGED_OBJECTS = ['controller', 'training', 'trials', 'trainerOptions'] as const;

/** `override` laid over `base` (a preset's configuration): what a config file or an API request gives. Validate the result. */
export function mergeConfig(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const inner = merged[key];
    if ((MERGED_OBJECTS as readonly string[]).includes(key) && isObject(inner) && isObject(value))
      merged[key] = { ...inner, ...value };
    else merged[key] = value;
  }
  return merged;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
