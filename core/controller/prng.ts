import { createHash } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

/** A source of uniform numbers in [0, 1). */
export type Uniform = () => number;

/**
 * A generator seeded from a tuple, e.g. (experiment seed, policy version, sample index):
 * SHA-256 of the parts fills xoroshiro128+'s 128-bit state, so every tuple gets its own
 * independent stream and any sample can be redrawn on its own — which is what the audit does.
 */
export function seededUniform(...parts: Array<string | number>): Uniform {
  const digest = createHash('sha256').update(parts.map(String).join('/')).digest();
  const state = [digest.readInt32BE(0), digest.readInt32BE(4), digest.readInt32BE(8), digest.readInt32BE(12)];
  // xoroshiro's all-zero state is a fixed point; SHA-256 giving 128 zero bits will not happen.
  const rng = xoroshiro128plusFromState(state);
  return () => uniformFloat64(rng);
}

/** Index drawn from a discrete distribution by inverse CDF (deterministic given `u`). */
export function drawCategorical(probabilities: ArrayLike<number>, count: number, u: number): number {
  let cumulative = 0;
  for (let j = 0; j < count - 1; j++) {
    cumulative += probabilities[j]!;
    if (u < cumulative) return j;
  }
  return count - 1;
}
