import { createHash } from 'node:crypto';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import {
  TrainingFailure,
  type TrainerContext,
  type TrainerFactory,
  type TrainerOptions,
  type TrainerPlugin,
  type TrainingJob,
  type TrainingResult,
} from '../../../core/runtime/trainer-plugin.ts';
import { DECISIONS, decodeActions } from '../../../core/search-space/actions.ts';
import type { Genotype } from '../../../core/search-space/genotype.ts';
import { targetSimilarity } from './target-similarity.ts';

export const SYNTHETIC_TRAINER_NAME = 'synthetic';

export interface SyntheticOptions {
  /** Which hidden target cell (default 0). */
  targetSeed: number;
  /** Simulated time of one whole training, spread evenly over its epochs (default 0). */
  delayMs: number;
  /** Every n-th training of this trainer fails with a retryable TrainingFailure (default 0: never). */
  failEvery: number;
}

/**
 * The hidden target for a seed: 50 uniform decisions. Seeded like the controller
 * (core/controller/prng.ts): SHA-256 of the parts fills xoroshiro128+'s state, so the
 * target depends on nothing but the seed, on every machine.
 */
export function syntheticTarget(targetSeed: number): Genotype {
  const digest = createHash('sha256').update(`synthetic-target/${targetSeed}`).digest();
  const rng = xoroshiro128plusFromState([
    digest.readInt32BE(0),
    digest.readInt32BE(4),
    digest.readInt32BE(8),
    digest.readInt32BE(12),
  ]);
  return decodeActions(DECISIONS.map((decision) => uniformInt(rng, 0, decision.choices - 1)));
}

const OPTION_RULES: Record<keyof SyntheticOptions, { ok(value: number): boolean; wanted: string }> = {
  targetSeed: { ok: Number.isSafeInteger, wanted: 'a whole number' },
  delayMs: { ok: (value) => Number.isFinite(value) && value >= 0, wanted: 'a number >= 0' },
  failEvery: { ok: (value) => Number.isSafeInteger(value) && value >= 0, wanted: 'a whole number >= 0' },
};

function parseOptions(options: Record<string, unknown>): SyntheticOptions {
  const parsed: SyntheticOptions = { targetSeed: 0, delayMs: 0, failEvery: 0 };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(OPTION_RULES, key)) {
      throw new RangeError(
        `synthetic trainer: unknown option ${JSON.stringify(key)} (known: ${Object.keys(OPTION_RULES).join(', ')})`,
      );
    }
    const rule = OPTION_RULES[key as keyof SyntheticOptions];
    if (typeof value !== 'number' || !rule.ok(value)) {
      throw new RangeError(`synthetic trainer option ${key} must be ${rule.wanted} (got ${JSON.stringify(value)})`);
    }
    parsed[key as keyof SyntheticOptions] = value;
  }
  return parsed;
}

function aborted(): TrainingFailure {
  const failure = new TrainingFailure('training was aborted', true);
  failure.name = 'AbortError';
  return failure;
}

/** Waits `ms`, or rejects at once when the signal aborts: a lost lease must not wait out the delay. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(aborted());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A trainer that trains nothing: the reward is the share of the 50 decisions that agree with a
 * hidden target cell. It exercises the whole search (events, retries, aborts, the controller's
 * learning) in milliseconds, with a known best cell that scores exactly 1.
 */
export class SyntheticTrainer implements TrainerPlugin {
  readonly name = SYNTHETIC_TRAINER_NAME;
  readonly target: Genotype;
  private readonly similarity: (genotype: Genotype) => number;
  /** Counted per instance: a process creates one trainer, so this is "per process". */
  private calls = 0;

  constructor(readonly options: SyntheticOptions) {
    this.target = syntheticTarget(options.targetSeed);
    this.similarity = targetSimilarity(this.target);
  }

  async describe(): Promise<{ backend: string; device: string }> {
    return { backend: 'synthetic', device: 'none' };
  }

  async train(job: TrainingJob, context: TrainerContext): Promise<TrainingResult> {
    const call = ++this.calls;
    const started = performance.now();
    if (context.signal.aborted) throw aborted();
    if (this.options.failEvery > 0 && call % this.options.failEvery === 0) {
      throw new TrainingFailure(`synthetic failure: call ${call} of this trainer (failEvery ${this.options.failEvery})`, true);
    }
    const reward = this.similarity(job.genotype);
    const epochs = Math.max(0, Math.floor(job.epochs));
    if (epochs === 0) await sleep(this.options.delayMs, context.signal);
    for (let epoch = 1; epoch <= epochs; epoch++) {
      await sleep(this.options.delayMs / epochs, context.signal);
      // A learning curve that ends at the reward, so dashboards have something to draw.
      const accuracy = (reward * epoch) / epochs;
      context.progress({ epoch, epochs, metrics: { validationAccuracy: accuracy, loss: 1 - accuracy } });
    }
    return {
      validationAccuracy: reward,
      testAccuracy: null,
      loss: 1 - reward,
      params: 0,
      multAdds: 0,
      seconds: (performance.now() - started) / 1000,
      imagesPerSec: 0,
      backend: 'synthetic',
      device: 'none',
      // no network, so nothing to recalibrate
      evaluation: { batchNorm: 'none', recalibrationImages: 0 },
    };
  }

  async close(): Promise<void> {}
}

/** The built-in `synthetic` trainer. `concurrency` does not matter: a training is a timer. */
export const createTrainer: TrainerFactory = ({ options }: TrainerOptions) => new SyntheticTrainer(parseOptions(options));
