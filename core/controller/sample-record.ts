import { decodeActions } from '../search-space/actions.ts';
import { cellHash } from '../search-space/canonical.ts';
import type { SampledArchitecture } from './strategy.ts';

export function sampledArchitecture(
  index: number,
  policyVersion: number,
  actions: number[],
  logProb: number,
  entropy: number,
): SampledArchitecture {
  const genotype = decodeActions(actions);
  return { index, policyVersion, actions, logProb, entropy, genotype, cellHash: cellHash(genotype) };
}

/** Refuses a batch that this policy version did not draw: its log-probabilities would be someone else's. */
export function assertCurrentBatch(
  batch: ReadonlyArray<{ sample: SampledArchitecture; reward: number }>,
  policyVersion: number,
): void {
  if (batch.length === 0) throw new RangeError('a policy update needs at least one scored sample');
  for (const { sample, reward } of batch) {
    if (sample.policyVersion !== policyVersion) {
      throw new RangeError(
        `sample ${sample.index} was drawn by policy version ${sample.policyVersion}, not the current ${policyVersion}`,
      );
    }
    if (!Number.isFinite(reward)) throw new RangeError(`sample ${sample.index} has reward ${reward}, not a finite number`);
  }
}
