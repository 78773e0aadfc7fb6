import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { TrainingJob } from '../../core/runtime/trainer-plugin.ts';

/**
 * Training settings of a child network, shared by the tfjs trainer and the process protocol
 * (the torch trainer reads the same ones); defaults suit a short search-time training.
 */
export const trainSettingsSchema = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1, maximum: 10_000 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 4096 }),
    optimizer: Type.Enum(['sgd', 'adam']),
    learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
    /** `cosine`: decayed to 0 over the run (the paper's, for either optimizer); `constant`. */
    learningRateSchedule: Type.Enum(['cosine', 'constant']),
    momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
    weightDecay: Type.Number({ minimum: 0, maximum: 1 }),
    batchNormMomentum: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
    validationFraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    maxTrainExamples: Type.Integer({ minimum: 0 }),
    augment: Type.Boolean(),
    dropPath: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
    auxHead: Type.Boolean(),
    auxWeight: Type.Number({ minimum: 0 }),
    evaluateTest: Type.Boolean(),
    /**
     * Training images whose exact batch-norm statistics replace the moving averages before
     * every evaluation; 0 evaluates with the moving averages.
     */
    batchNormRecalibration: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    seed: Type.Integer(),
    /**
     * Seed of the validation split and the training subset; null: `seed`. A search gives all
     * its children the experiment's, so every cell is trained and measured on the same examples.
     */
    dataSeed: Type.Union([Type.Integer(), Type.Null()]),
  },
  { additionalProperties: false },
);

export type TrainSettings = Static<typeof trainSettingsSchema>;

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  epochs: 1,
  batchSize: 64,
  optimizer: 'sgd',
  learningRate: 0.05,
  learningRateSchedule: 'cosine',
  momentum: 0.9,
  weightDecay: 5e-4,
  batchNormMomentum: 0.9,
  validationFraction: 0.1,
  maxTrainExamples: 0,
  augment: true,
  dropPath: 0,
  auxHead: false,
  auxWeight: 0.4,
  evaluateTest: false,
  batchNormRecalibration: 512,
  seed: 1,
  dataSeed: null,
};

const check = Compile(trainSettingsSchema);

/**
 * Training settings a trainer's options may fix for every child (`{batchSize: 32}`).
 * `epochs`, `seed` and `dataSeed` are left out: every job carries its own, which would override them.
 */
const JOB_KEYS = ['epochs', 'seed', 'dataSeed'];
export const DEFAULT_SETTING_KEYS: readonly string[] = Object.keys(trainSettingsSchema.properties).filter(
  (key) => !JOB_KEYS.includes(key),
);

/** The training settings of options that are settings; throws, naming the bad one, as `${trainer} option …`. */
export function settingDefaults(options: Record<string, unknown>, trainer: string): Record<string, unknown> {
  const defaults = Object.fromEntries(Object.entries(options).filter(([key]) => DEFAULT_SETTING_KEYS.includes(key)));
  try {
    trainSettings(defaults);
  } catch (error) {
    throw new RangeError(`${trainer} option ${(error as Error).message.replace(/^training setting /, '')}`);
  }
  return defaults;
}

/** What one job trains with: the trainer's defaults under the job's own epochs, seeds and settings. */
export function jobSettings(
  defaults: Record<string, unknown>,
  job: Pick<TrainingJob, 'epochs' | 'seed' | 'dataSeed' | 'settings'>,
): TrainSettings {
  return trainSettings(defaults, { epochs: job.epochs, seed: job.seed, dataSeed: job.dataSeed }, job.settings);
}

/** Defaults overlaid with the given settings, checked; the error names the setting and the value. */
export function trainSettings(...layers: Array<Record<string, unknown> | undefined>): TrainSettings {
  const merged: Record<string, unknown> = { ...DEFAULT_TRAIN_SETTINGS };
  for (const layer of layers)
    if (layer) for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key] = value;
  if (check.Check(merged)) return merged;
  const error = check.Errors(merged)[0]!;
  const field =
    error.instancePath.slice(1) ||
    ((error.params as { additionalProperties?: string[] }).additionalProperties?.[0] ?? 'settings');
  throw new RangeError(
    `training setting ${field} ${error.keyword === 'boolean' ? 'is not a known setting' : error.message} (got ${JSON.stringify(merged[field])})`,
  );
}
