import type { ExperimentState, TrialState } from './experiment-state.ts';
import type { SearchConfig } from './search-config.ts';

/** What a worker should do about one sampled architecture right now. */
export type TrialDecision =
  | { kind: 'done' }
  /** Nothing to do yet: someone holds it, a back-off runs, or an equal cell is being trained. */
  | { kind: 'wait'; reason: string; until?: number }
  | { kind: 'claim'; attempt: number; expectedRevision: bigint | 'no_stream'; takeoverFrom: string | null }
  | { kind: 'reuse'; fromSampleId: string; reward: number }
  /** Every attempt was used: record the failure reward. */
  | { kind: 'fail'; attempt: number; reason: string; expectedRevision: bigint | 'no_stream' };

export interface DecisionContext {
  now: number;
  config: Pick<SearchConfig, 'reuse' | 'trials'>;
  /** False when the claim's holder is known to be gone (e.g. a dead process on this host). */
  holderAlive(workerId: string): boolean;
}

/**
 * The scheduling rule, as a pure function of the folded log (README, "The search runtime"): a trial is claimed
 * by one worker at a time; a claim whose lease ran out — or whose holder is known dead — may be
 * taken over; retryable failures are retried after an exponential back-off until
 * `maxAttempts` claims were used, then the trial fails for good. With reuse on, a cell that was
 * already trained in this experiment is not trained again, and of several samples of one cell
 * that nobody trained yet, the lowest index trains first while the others wait.
 */
export function decideTrial(state: ExperimentState, index: number, context: DecisionContext): TrialDecision {
  const sample = state.samples.get(index);
  if (!sample) return { kind: 'wait', reason: 'not sampled' };
  const trial: TrialState | undefined = state.trials.get(sample.sampleId);
  if (trial?.reward) return { kind: 'done' };
  const expectedRevision = trial?.revision ?? 'no_stream';
  const { trials } = context.config;

  if (trial?.claim) {
    const { claim } = trial;
    const expired = context.now >= claim.expiresAt || !context.holderAlive(claim.workerId);
    if (!expired) return { kind: 'wait', reason: `claimed by ${claim.workerId}`, until: claim.expiresAt };
    if (trial.attemptsUsed >= trials.maxAttempts) {
      return {
        kind: 'fail',
        attempt: claim.attempt,
        reason: `the lease of attempt ${claim.attempt} ran out and all ${trials.maxAttempts} attempts are used`,
        expectedRevision,
      };
    }
    return { kind: 'claim', attempt: trial.lastAttempt + 1, expectedRevision, takeoverFrom: claim.workerId };
  }

  if (trial?.completed) {
    // Trained but the reward was not recorded (the worker died in between): a takeover finishes it.
    return { kind: 'claim', attempt: trial.lastAttempt + 1, expectedRevision, takeoverFrom: null };
  }

  if (trial?.lastFailure) {
    const failure = trial.lastFailure;
    if (!failure.retryable || trial.attemptsUsed >= trials.maxAttempts) {
      const why = failure.retryable ? `all ${trials.maxAttempts} attempts failed; the last: ${failure.reason}` : failure.reason;
      return { kind: 'fail', attempt: failure.attempt, reason: why, expectedRevision };
    }
    const until = failure.at + trials.retryBackoffSeconds * 1000 * 2 ** Math.max(0, trial.attemptsUsed - 1);
    if (context.now < until) return { kind: 'wait', reason: 'retry back-off', until };
  }

  if (context.config.reuse) {
    // byHash lists indices in sampling order: the first trained one is the earliest.
    const same = (state.byHash.get(sample.cellHash) ?? [])
      .filter((other) => other !== index)
      .map((other) => state.samples.get(other)!);
    for (const other of same) {
      const reward = state.trials.get(other.sampleId)?.reward;
      if (reward?.source === 'trained') return { kind: 'reuse', fromSampleId: other.sampleId, reward: reward.reward };
    }
    const first = same.find((other) => other.index < index && !state.trials.get(other.sampleId)?.reward);
    if (first) return { kind: 'wait', reason: `the same cell is sample ${first.sampleId}, which trains first` };
  }

  return { kind: 'claim', attempt: (trial?.lastAttempt ?? 0) + 1, expectedRevision, takeoverFrom: null };
}
