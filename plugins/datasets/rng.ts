import { createHash } from 'node:crypto';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { DatasetError } from './dataset.ts';

export type { RandomGenerator };

/**
 * A generator for one purpose ('split', 'shuffle', 'augment', ...) of one seed and epoch.
 * SHA-256 of the parts fills xoroshiro128+'s 128-bit state, as core/controller/prng.ts does,
 * so the streams are independent: turning augmentation on does not change the shuffle order,
 * and epoch 3's order does not depend on how many numbers epoch 2 drew.
 */
export function datasetRng(purpose: string, seed: number, epoch = 0): RandomGenerator {
  if (!Number.isSafeInteger(seed)) throw new DatasetError(`seed must be an integer (got ${String(seed)})`);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new DatasetError(`epoch must be an integer >= 0 (got ${String(epoch)})`);
  const digest = createHash('sha256').update(`nasnet-datasets/${purpose}/${seed}/${epoch}`).digest();
  // xoroshiro's all-zero state is a fixed point; SHA-256 giving 128 zero bits will not happen.
  return xoroshiro128plusFromState([digest.readInt32BE(0), digest.readInt32BE(4), digest.readInt32BE(8), digest.readInt32BE(12)]);
}

/** Integer in [0, n). */
export function below(rng: RandomGenerator, n: number): number {
  return uniformInt(rng, 0, n - 1);
}

/** Fisher-Yates shuffle in place; returns `values`. */
export function shuffleInPlace<T extends { [i: number]: number; length: number }>(values: T, rng: RandomGenerator): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = below(rng, i + 1);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}
