import { mean } from './baseline.ts';
import type { PolicyUpdate, UpdateStats } from './strategy.ts';

/** What every strategy reports of an update (PolicyUpdated's fields), whatever it learned. */
export function updateRecord(
  policyVersion: number,
  rewards: readonly number[],
  baseline: { before: number | null; after: number | null },
  stats: UpdateStats | null,
  digests: { before: string; after: string },
): PolicyUpdate {
  return {
    policyVersion,
    meanReward: mean(rewards),
    baselineBefore: baseline.before,
    baselineAfter: baseline.after,
    stats,
    paramsDigestBefore: digests.before,
    paramsDigestAfter: digests.after,
  };
}
