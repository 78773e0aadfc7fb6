import type { EventMetadata, NasnetEvent } from '../events/event.ts';
import { eventMetadata } from '../events/metadata.ts';
import { trialStream } from '../events/streams.ts';
import {
  rewardReported,
  trainingCompleted,
  trainingFailed,
  trainingProgressed,
  trialClaimed,
  trialReleased,
} from '../events/trial-events.ts';
import { WrongExpectedVersionError } from '../store/errors.ts';
import type { EventStore } from '../store/port.ts';
import type { SearchConfig } from './search-config.ts';
import { TrainingFailure, type TrainerPlugin, type TrainingJob, type TrainingResult } from './trainer-plugin.ts';
import { TrialWriter } from './trial-writer.ts';
import type { WorkerActivity } from './worker-activity.ts';

/** What an attempt needs from the worker that runs it. */
export interface TrialContext {
  store: EventStore;
  plugin: TrainerPlugin;
  workerId: string;
  /** The worker's signal: aborting it aborts the training, and the claim is released. */
  shutdown: AbortSignal;
  now(): number;
  notify(activity: WorkerActivity): void;
  /** Where the plugin computes, recorded in the claim. */
  backend(): Promise<{ backend: string; device: string }>;
}

/** An attempt the scheduler decided to claim. */
export interface PlannedAttempt {
  job: TrainingJob;
  config: SearchConfig;
  /** The trial stream's revision the decision was made on: the claim expects it. */
  expected: bigint | 'no_stream';
  /** Claims that count as attempts, this one included. */
  attemptsUsed: number;
  takeoverFrom: string | null;
  /** Aborted by the worker (shutdown) or by the attempt itself (claim taken over). */
  abort: AbortController;
}

/** How an attempt ended; `lost`: another worker took it over (or won the claim), nothing more was written. */
export type TrialOutcome = 'not-claimed' | 'lost' | 'trained' | 'released' | 'retry' | 'failed';

type Training = { result: TrainingResult } | { failure: { reason: string; retryable: boolean } };

/**
 * One attempt at a trial: claim it, train with heartbeats, then record the result, the release
 * (shutdown) or the failure. A result that arrives after a shutdown is still recorded.
 */
export async function runTrial(context: TrialContext, attempt: PlannedAttempt): Promise<TrialOutcome> {
  const writer = await claim(context, attempt);
  if (!writer) return 'not-claimed';
  const { experimentId, sampleId } = attempt.job;
  context.notify({ kind: 'claimed', experimentId, sampleId, attempt: attempt.job.attempt, takeoverFrom: attempt.takeoverFrom });
  const training = await train(context, attempt, writer);
  await writer.settled();
  if (writer.lost) return 'lost';
  if ('result' in training) return recordResult(context, attempt, writer, training.result);
  if (attempt.abort.signal.aborted) return recordRelease(context, attempt, writer);
  return recordFailure(context, attempt, writer, training.failure);
}

/** Appends the claim with the decision's expected revision: a conflict means another worker won. */
async function claim(context: TrialContext, attempt: PlannedAttempt): Promise<TrialWriter | null> {
  const { job, config } = attempt;
  const stream = trialStream(job.sampleId);
  const { backend } = await context.backend();
  const deadline = new Date(context.now() + config.trials.leaseSeconds * 1000);
  const event = trialClaimed(
    {
      experimentId: job.experimentId,
      sampleId: job.sampleId,
      workerId: context.workerId,
      plugin: context.plugin.name,
      backend,
      leaseDeadline: deadline.toISOString(),
      attempt: job.attempt,
    },
    metadata(context, job),
  );
  try {
    const { nextRevision } = await context.store.append(stream, [event], attempt.expected);
    return new TrialWriter(context.store, job.sampleId, nextRevision, attempt.abort, context.now);
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) return null;
    throw error;
  }
}

/** Runs the plugin, writing its progress and, while it shows none, heartbeats that renew the lease. */
async function train(context: TrialContext, attempt: PlannedAttempt, writer: TrialWriter): Promise<Training> {
  const { job, abort } = attempt;
  const stopOnShutdown = () => abort.abort(new Error('the worker is shutting down'));
  context.shutdown.addEventListener('abort', stopOnShutdown, { once: true });
  let lastEpoch = 0;
  const stopHeartbeat = startHeartbeat(context, attempt, writer, () => lastEpoch);
  try {
    const result = await context.plugin.train(job, {
      signal: abort.signal,
      progress: (progress) => {
        lastEpoch = progress.epoch;
        context.notify({ kind: 'progress', experimentId: job.experimentId, sampleId: job.sampleId, ...progress });
        const metrics = finiteMetrics(progress.metrics);
        void writer.write([progressed(context, job, progress.epoch, progress.epochs, metrics)]).catch(() => {});
      },
    });
    return { result };
  } catch (error) {
    return {
      failure: {
        reason: error instanceof Error ? error.message || error.name : String(error),
        // Unknown errors may be transient (memory, a dead worker thread); the attempt cap bounds the cost.
        retryable: error instanceof TrainingFailure ? error.retryable : true,
      },
    };
  } finally {
    stopHeartbeat();
    context.shutdown.removeEventListener('abort', stopOnShutdown);
  }
}

/** A training with no epoch boundary inside its lease still shows it is alive. Returns the stop. */
function startHeartbeat(
  context: TrialContext,
  attempt: PlannedAttempt,
  writer: TrialWriter,
  lastEpoch: () => number,
): () => void {
  const leaseMs = attempt.config.trials.leaseSeconds * 1000;
  const timer = setInterval(
    () => {
      if (context.now() - writer.lastWrite < leaseMs / 3) return;
      const beat = progressed(context, attempt.job, lastEpoch(), attempt.config.epochs, {});
      void writer.write([beat]).catch(() => {});
    },
    Math.max(50, Math.min(leaseMs / 3, 60_000)),
  );
  return () => clearInterval(timer);
}

async function recordResult(
  context: TrialContext,
  { job }: PlannedAttempt,
  writer: TrialWriter,
  result: TrainingResult,
): Promise<TrialOutcome> {
  const { experimentId, sampleId } = job;
  const reward = result.validationAccuracy;
  await writer.write([
    trainingCompleted(job, result, metadata(context, job)),
    rewardReported({ experimentId, sampleId, reward, source: 'trained', reusedFromSampleId: null }, metadata(context, job)),
  ]);
  if (writer.lost) return 'lost';
  context.notify({ kind: 'completed', experimentId, sampleId, reward, seconds: result.seconds });
  return 'trained';
}

/** Hands the trial back; a released claim does not count as an attempt. */
async function recordRelease(context: TrialContext, { job, abort }: PlannedAttempt, writer: TrialWriter): Promise<TrialOutcome> {
  const { experimentId, sampleId, attempt } = job;
  const reason = abort.signal.reason instanceof Error ? abort.signal.reason.message : 'aborted';
  await writer.write([
    trialReleased({ experimentId, sampleId, workerId: context.workerId, attempt, reason }, metadata(context, job)),
  ]);
  context.notify({ kind: 'released', experimentId, sampleId, attempt, reason });
  return 'released';
}

/** The failure, and the failure reward when no attempt is left (or another would fail the same way). */
async function recordFailure(
  context: TrialContext,
  { job, config, attemptsUsed }: PlannedAttempt,
  writer: TrialWriter,
  { reason, retryable }: { reason: string; retryable: boolean },
): Promise<TrialOutcome> {
  const { experimentId, sampleId, attempt } = job;
  const final = !retryable || attemptsUsed >= config.trials.maxAttempts;
  const events: NasnetEvent[] = [trainingFailed({ experimentId, sampleId, attempt, reason, retryable }, metadata(context, job))];
  if (final) events.push(failureReward(experimentId, sampleId, config, metadata(context, job)));
  await writer.write(events);
  if (writer.lost) return 'lost';
  context.notify({ kind: 'failed', experimentId, sampleId, attempt, reason, final });
  return final ? 'failed' : 'retry';
}

/** The documented reward of a trial that failed for good, so the controller learns to avoid what breaks. */
export function failureReward(
  experimentId: string,
  sampleId: string,
  config: SearchConfig,
  metadata: EventMetadata,
): NasnetEvent {
  return rewardReported(
    { experimentId, sampleId, reward: config.trials.failureReward, source: 'failure', reusedFromSampleId: null },
    metadata,
  );
}

function progressed(
  context: TrialContext,
  job: TrainingJob,
  epoch: number,
  epochs: number,
  metrics: Record<string, number>,
): NasnetEvent {
  const { experimentId, sampleId, attempt } = job;
  return trainingProgressed({ experimentId, sampleId, attempt, epoch, epochs, metrics }, metadata(context, job));
}

function metadata(context: TrialContext, job: TrainingJob): EventMetadata {
  return eventMetadata(job.experimentId, context.workerId);
}

/** Metrics go into events as JSON numbers: a diverged loss (NaN) is left out rather than refused. */
function finiteMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, value]) => Number.isFinite(value)));
}
