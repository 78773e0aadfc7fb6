import type { TrainerFactory, TrainerOptions } from '../../../core/runtime/trainer-plugin.ts';
import { TrainerPool } from './pool/trainer-pool.ts';
import { BACKENDS, type BackendChoice } from './tf-runtime.ts';
import { trainSettings, trainSettingsSchema } from '../training-settings.ts';

/**
 * Training settings a search may fix for every child (`{batchSize: 32, optimizer: 'adam'}`).
 * `epochs`, `seed` and `dataSeed` are left out: every job carries its own, which would override them.
 */
const JOB_KEYS = ['epochs', 'seed', 'dataSeed'];
const DEFAULT_SETTING_KEYS = Object.keys(trainSettingsSchema.properties).filter((key) => !JOB_KEYS.includes(key));
const OPTION_KEYS = ['backend', ...DEFAULT_SETTING_KEYS];

/**
 * The built-in `tfjs` trainer: a pool of `concurrency` worker threads. Options: `backend`
 * (one of BACKENDS; default: the best one installed) and any training setting as a default
 * for every job. Everything is checked here, before a worker starts, so a typo fails the
 * command at once instead of failing every trial.
 */
export const createTrainer: TrainerFactory = ({ concurrency, options }: TrainerOptions) => {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`tfjs trainer: concurrency must be a whole number >= 1 (got ${JSON.stringify(concurrency)})`);
  }
  const defaults: Record<string, unknown> = {};
  let backend: BackendChoice | undefined;
  for (const [key, value] of Object.entries(options)) {
    if (key === 'backend') {
      if (value === undefined) continue;
      if (typeof value !== 'string' || !(BACKENDS as readonly string[]).includes(value)) {
        throw new RangeError(`tfjs trainer option backend must be one of ${BACKENDS.join(', ')} (got ${JSON.stringify(value)})`);
      }
      backend = value as BackendChoice;
    } else if (DEFAULT_SETTING_KEYS.includes(key)) {
      defaults[key] = value;
    } else {
      throw new RangeError(`tfjs trainer: unknown option ${JSON.stringify(key)} (known: ${OPTION_KEYS.join(', ')})`);
    }
  }
  try {
    trainSettings(defaults);
  } catch (error) {
    throw new RangeError(`tfjs trainer option ${(error as Error).message.replace(/^training setting /, '')}`);
  }
  return new TrainerPool({ workers: concurrency, ...(backend ? { backend } : {}), defaults });
};
