import type { TrainerFactory, TrainerOptions } from '../../../core/runtime/trainer-plugin.ts';
import { TrainerPool } from './pool/trainer-pool.ts';
import { BACKENDS, type BackendChoice } from './tf-runtime.ts';
import { DEFAULT_SETTING_KEYS, settingDefaults } from '../training-settings.ts';

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
  const unknown = Object.keys(options).find((key) => !OPTION_KEYS.includes(key));
  if (unknown !== undefined)
    throw new RangeError(`tfjs trainer: unknown option ${JSON.stringify(unknown)} (known: ${OPTION_KEYS.join(', ')})`);
  const { backend } = options;
  if (backend !== undefined && (typeof backend !== 'string' || !(BACKENDS as readonly string[]).includes(backend))) {
    throw new RangeError(`tfjs trainer option backend must be one of ${BACKENDS.join(', ')} (got ${JSON.stringify(backend)})`);
  }
  const defaults = settingDefaults(options, 'tfjs trainer');
  return new TrainerPool({ workers: concurrency, ...(backend ? { backend: backend as BackendChoice } : {}), defaults });
};
