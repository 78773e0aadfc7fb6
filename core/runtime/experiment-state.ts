import type { SampledArchitecture } from '../controller/strategy.ts';
import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { JsonObject } from '../events/json.ts';
import { EXPERIMENT_STREAM_PREFIX, TRIAL_STREAM_PREFIX } from '../events/streams.ts';

export type ExperimentStatus = 'running' | 'completed' | 'stopped';

export interface ClaimState {
  workerId: string;
  attempt: number;
  /** Milliseconds since the epoch. */
  claimedAt: number;
  leaseMs: number;
  /** When the lease runs out: the claim's deadline, pushed on by every sign of life from the holder. */
  expiresAt: number;
}

export interface TrialState {
  sampleId: string;
  /** Revision of the trial stream's last event; null while the stream does not exist. */
  revision: bigint | null;
  /** Claims that counted as attempts (a released claim does not). */
  attemptsUsed: number;
  lastAttempt: number;
  claim: ClaimState | null;
  /** The last failure, for the retry back-off. */
  lastFailure: { attempt: number; at: number; retryable: boolean; reason: string } | null;
  completed: EventOfType<'TrainingCompleted'>['data'] | null;
  reward: EventOfType<'RewardReported'>['data'] | null;
}

export interface ExperimentState {
  experimentId: string;
  config: JsonObject;
  seed: number;
  createdAt: string;
  status: ExperimentStatus;
  /** Revision of the experiment stream's last event: the controller appends expecting it. */
  revision: bigint;
  /** Sampled architectures by index, as recorded. */
  samples: Map<number, SampledArchitecture & { sampleId: string }>;
  sampleIndex: Map<string, number>;
  /** Sample indices by canonical cell hash, for reuse decisions without a scan. */
  byHash: Map<string, number[]>;
  /** Samples that have no reward yet: what workers look at. */
  open: Set<number>;
  policyVersion: number;
  /** paramsDigest of ControllerInitialized. */
  initialDigest: string | null;
  updates: Array<EventOfType<'PolicyUpdated'>['data']>;
  trials: Map<string, TrialState>;
  completedEvent: EventOfType<'ExperimentCompleted'>['data'] | null;
}

export function emptyTrial(sampleId: string): TrialState {
  return {
    sampleId,
    revision: null,
    attemptsUsed: 0,
    lastAttempt: 0,
    claim: null,
    lastFailure: null,
    completed: null,
    reward: null,
  };
}

/**
 * Folds one event into the experiments it belongs to. The fold is the single reading of the
 * log that the controller (resume), the workers (what to claim) and `status` share. It updates
 * `experiments` in place — the map is the fold's own accumulator, created by the caller for
 * this purpose — because copying thousands of samples per event would make replays quadratic.
 */
export function foldEvent(experiments: Map<string, ExperimentState>, event: RecordedEvent): void {
  if (event.stream.startsWith(EXPERIMENT_STREAM_PREFIX)) foldExperimentEvent(experiments, event);
  else if (event.stream.startsWith(TRIAL_STREAM_PREFIX)) foldTrialEvent(experiments, event);
}

/** All experiments in a sequence of events (in log order). */
export function foldEvents(events: Iterable<RecordedEvent>): Map<string, ExperimentState> {
  const experiments = new Map<string, ExperimentState>();
  for (const event of events) foldEvent(experiments, event);
  return experiments;
}

function foldExperimentEvent(experiments: Map<string, ExperimentState>, event: RecordedEvent): void {
  if (event.type === 'ExperimentCreated') {
    const { experimentId, config, seed } = event.data;
    experiments.set(experimentId, {
      experimentId,
      config,
      seed,
      createdAt: event.metadata.timestamp,
      status: 'running',
      revision: event.revision,
      samples: new Map(),
      sampleIndex: new Map(),
      byHash: new Map(),
      open: new Set(),
      policyVersion: 0,
      initialDigest: null,
      updates: [],
      trials: new Map(),
      completedEvent: null,
    });
    return;
  }
  const state = experiments.get((event.data as { experimentId?: string }).experimentId ?? '');
  if (!state) return;
  state.revision = event.revision;
  switch (event.type) {
    case 'ArchitectureSampled': {
      const { data } = event;
      state.samples.set(data.index, {
        sampleId: data.sampleId,
        index: data.index,
        policyVersion: data.policyVersion,
        actions: data.actions,
        logProb: data.logProb,
        entropy: data.entropy,
        genotype: data.genotype,
        cellHash: data.cellHash,
      });
      state.sampleIndex.set(data.sampleId, data.index);
      const same = state.byHash.get(data.cellHash);
      if (same) same.push(data.index);
      else state.byHash.set(data.cellHash, [data.index]);
      if (!state.trials.get(data.sampleId)?.reward) state.open.add(data.index);
      break;
    }
    case 'ControllerInitialized':
      state.initialDigest = event.data.paramsDigest;
      break;
    case 'PolicyUpdated':
      state.policyVersion = event.data.policyVersion;
      state.updates.push(event.data);
      break;
    case 'ExperimentCompleted':
      state.status = 'completed';
      state.completedEvent = event.data;
      break;
    case 'ExperimentStopped':
      state.status = 'stopped';
      break;
    case 'ExperimentResumed':
      state.status = 'running';
      break;
    default:
      break;
  }
}

function foldTrialEvent(experiments: Map<string, ExperimentState>, event: RecordedEvent): void {
  const data = event.data as { experimentId?: string; sampleId?: string };
  const state = experiments.get(data.experimentId ?? '');
  if (!state || !data.sampleId) return;
  const trial = state.trials.get(data.sampleId) ?? emptyTrial(data.sampleId);
  state.trials.set(data.sampleId, trial);
  trial.revision = event.revision;
  const at = Date.parse(event.metadata.timestamp);
  switch (event.type) {
    case 'TrialClaimed': {
      const deadline = Date.parse(event.data.leaseDeadline);
      trial.attemptsUsed++;
      trial.lastAttempt = event.data.attempt;
      trial.claim = {
        workerId: event.data.workerId,
        attempt: event.data.attempt,
        claimedAt: at,
        leaseMs: Math.max(0, deadline - at),
        expiresAt: deadline,
      };
      break;
    }
    case 'TrainingProgressed':
      if (trial.claim && trial.claim.attempt === event.data.attempt)
        trial.claim.expiresAt = Math.max(trial.claim.expiresAt, at + trial.claim.leaseMs);
      break;
    case 'TrialReleased':
      if (trial.claim && trial.claim.attempt === event.data.attempt) {
        trial.claim = null;
        trial.attemptsUsed = Math.max(0, trial.attemptsUsed - 1);
      }
      break;
    case 'TrainingFailed':
      trial.lastFailure = { attempt: event.data.attempt, at, retryable: event.data.retryable, reason: event.data.reason };
      if (trial.claim && trial.claim.attempt === event.data.attempt) trial.claim = null;
      break;
    case 'TrainingCompleted':
      trial.completed = event.data;
      if (trial.claim && trial.claim.attempt === event.data.attempt) trial.claim = null;
      break;
    case 'RewardReported': {
      trial.reward = event.data;
      trial.claim = null;
      const index = state.sampleIndex.get(data.sampleId);
      if (index !== undefined) state.open.delete(index);
      break;
    }
    default:
      break;
  }
}

export interface ExperimentSummary {
  experimentId: string;
  status: ExperimentStatus;
  samples: number;
  completed: number;
  failed: number;
  bestReward: number | null;
  bestSampleId: string | null;
  policyVersion: number;
}

/** Counts and the best reward so far: completed = trained or reused, failed = the failure reward. */
export function summarize(state: ExperimentState): ExperimentSummary {
  let completed = 0;
  let failed = 0;
  let best: { reward: number; index: number; sampleId: string } | null = null;
  for (const trial of state.trials.values()) {
    const reward = trial.reward;
    if (!reward) continue;
    if (reward.source === 'failure') {
      failed++;
      continue;
    }
    completed++;
    const index = state.sampleIndex.get(reward.sampleId) ?? Number.MAX_SAFE_INTEGER;
    if (!best || reward.reward > best.reward || (reward.reward === best.reward && index < best.index)) {
      best = { reward: reward.reward, index, sampleId: reward.sampleId };
    }
  }
  return {
    experimentId: state.experimentId,
    status: state.status,
    samples: state.samples.size,
    completed,
    failed,
    bestReward: best?.reward ?? null,
    bestSampleId: best?.sampleId ?? null,
    policyVersion: state.policyVersion,
  };
}

/** Samples with rewards, best first (ties: lower index first), one per canonical cell hash. */
export function bestSamples(
  state: ExperimentState,
  top: number,
): Array<{ sample: SampledArchitecture & { sampleId: string }; reward: number }> {
  const byHash = new Map<string, { sample: SampledArchitecture & { sampleId: string }; reward: number }>();
  for (const sample of [...state.samples.values()].sort((a, b) => a.index - b.index)) {
    const reward = state.trials.get(sample.sampleId)?.reward;
    if (!reward || reward.source === 'failure') continue;
    const seen = byHash.get(sample.cellHash);
    if (!seen || reward.reward > seen.reward) byHash.set(sample.cellHash, { sample, reward: reward.reward });
  }
  return [...byHash.values()].sort((a, b) => b.reward - a.reward || a.sample.index - b.sample.index).slice(0, top);
}
