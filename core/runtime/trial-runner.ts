import { auditTime, interval, map, merge, Subject, takeUntil, tap } from 'rxjs';
import type { EventMetadata, EventOfType, NasnetEvent } from '../events/event.ts';
import { deterministicEventId, randomEventId } from '../events/ids.ts';
import { eventMetadata } from '../events/metadata.ts';
import { EXPERIMENT_STREAM_PREFIX, TRIAL_STREAM_PREFIX, trialStream } from '../events/streams.ts';
import { WrongExpectedVersionError } from '../store/errors.ts';
import { START, type EventStore, type ExpectedRevision } from '../store/port.ts';
import { foldEvent, type ExperimentState } from './experiment-state.ts';
import { validateSearchConfig, type SearchConfig } from './search-config.ts';
import { filtersNearPenultimate } from '../search-space/genotype.ts';
import { decideTrial } from './trial-decisions.ts';
import { TrainingFailure, type TrainerPlugin, type TrainingJob, type TrainingResult } from './trainer-plugin.ts';

/** What a worker did, for progress displays and logs. */
export type WorkerActivity =
  | { kind: 'claimed'; experimentId: string; sampleId: string; attempt: number; takeoverFrom: string | null }
  | { kind: 'progress'; experimentId: string; sampleId: string; epoch: number; epochs: number; metrics: Record<string, number> }
  | { kind: 'completed'; experimentId: string; sampleId: string; reward: number; seconds: number }
  | { kind: 'reused'; experimentId: string; sampleId: string; fromSampleId: string; reward: number }
  | { kind: 'failed'; experimentId: string; sampleId: string; attempt: number; reason: string; final: boolean }
  | { kind: 'released'; experimentId: string; sampleId: string; attempt: number; reason: string }
  | { kind: 'skipped-experiment'; experimentId: string; reason: string };

export interface WorkerOptions {
  store: EventStore;
  plugin: TrainerPlugin;
  /** Unique per worker process; recorded in claims (see worker-identity.ts). */
  workerId: string;
  /** Trainings at once. */
  concurrency: number;
  /** Only this experiment's trials; otherwise every running experiment whose trainer is this plugin. */
  experimentId?: string;
  /** Aborting stops claiming, aborts running trainings and releases their claims. */
  signal: AbortSignal;
  /** Return once the experiment (`experimentId`) is completed and nothing runs here (a stopped one may be resumed). */
  exitWhenDone?: boolean;
  /** False for a claim holder known to be gone, so its trial is taken over without waiting for the lease. */
  holderAlive?: (workerId: string) => boolean;
  onActivity?: (activity: WorkerActivity) => void;
  /** How often leases and back-offs are re-examined. */
  tickMs?: number;
  now?: () => number;
}

export interface WorkerReport {
  trained: number;
  failed: number;
  reused: number;
  released: number;
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The trainer side of a search: folds the log into experiment states, decides per sampled
 * architecture (trial-decisions.ts) and claims with an expected revision — so two workers, in
 * one process or many, never train the same attempt — then runs the plugin and turns what it
 * reports into trial events. The log is the only coordination; nothing is held in memory that
 * another worker would need.
 */
export function runWorker(options: WorkerOptions): Promise<WorkerReport> {
  const { store, plugin, workerId, concurrency, signal } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`workers must be a whole number >= 1 (got ${concurrency})`);
  const now = options.now ?? Date.now;
  const holderAlive = options.holderAlive ?? (() => true);
  const notify = options.onActivity ?? (() => {});
  const experiments = new Map<string, ExperimentState>();
  const configs = new Map<string, SearchConfig | null>();
  const running = new Map<string, Running>();
  /** Reuse/failure appends in flight, so the same decision is not acted on twice. */
  const acting = new Set<string>();
  const report: WorkerReport = { trained: 0, failed: 0, reused: 0, released: 0 };
  const meta = (experimentId: string): EventMetadata => eventMetadata(experimentId, workerId);
  let describe: Promise<{ backend: string; device: string }> | null = null;
  const backend = () => (describe ??= plugin.describe?.() ?? Promise.resolve({ backend: plugin.name, device: 'unknown' }));

  const prefixes = options.experimentId
    ? [EXPERIMENT_STREAM_PREFIX + options.experimentId, `${TRIAL_STREAM_PREFIX}${options.experimentId}-`]
    : [EXPERIMENT_STREAM_PREFIX, TRIAL_STREAM_PREFIX];

  return new Promise<WorkerReport>((resolve, reject) => {
    const stop$ = new Subject<void>();
    let caughtUp = false;
    let finished = false;

    const finish = async (error?: unknown) => {
      if (finished) return;
      finished = true;
      stop$.next();
      for (const run of running.values()) run.abort.abort(new Error('the worker is shutting down'));
      await Promise.allSettled([...running.values()].map((run) => run.done));
      if (error) reject(error);
      else resolve(report);
    };

    const configOf = (state: ExperimentState): SearchConfig | null => {
      if (!configs.has(state.experimentId)) {
        let config: SearchConfig | null = null;
        try {
          config = validateSearchConfig(state.config);
          if (config.trainer !== plugin.name) {
            notify({
              kind: 'skipped-experiment',
              experimentId: state.experimentId,
              reason: `it is configured for trainer ${config.trainer}, this worker runs ${plugin.name}`,
            });
            config = null;
          }
        } catch (error) {
          notify({
            kind: 'skipped-experiment',
            experimentId: state.experimentId,
            reason: `its configuration is not one this worker can run: ${(error as Error).message}`,
          });
        }
        configs.set(state.experimentId, config);
      }
      return configs.get(state.experimentId) ?? null;
    };

    const schedule = () => {
      if (finished) return;
      if (signal.aborted) {
        void finish();
        return;
      }
      if (!caughtUp) return;
      for (const state of experiments.values()) {
        if (options.experimentId && state.experimentId !== options.experimentId) continue;
        if (state.status !== 'running') continue;
        const config = configOf(state);
        if (!config) continue;
        const indices = [...state.open].sort((a, b) => a - b);
        for (const index of indices) {
          const sample = state.samples.get(index)!;
          if (running.has(sample.sampleId) || acting.has(sample.sampleId)) continue;
          const decision = decideTrial(state, index, { now: now(), config, holderAlive });
          if (decision.kind === 'claim') {
            if (running.size >= concurrency) continue;
            startTrial(state, config, index, decision.attempt, decision.expectedRevision, decision.takeoverFrom);
          } else if (decision.kind === 'reuse') {
            act(
              sample.sampleId,
              [rewardEvent(state.experimentId, sample.sampleId, decision.reward, 'reused', decision.fromSampleId)],
              trialRevision(state, sample.sampleId),
              () => {
                report.reused++;
                notify({
                  kind: 'reused',
                  experimentId: state.experimentId,
                  sampleId: sample.sampleId,
                  fromSampleId: decision.fromSampleId,
                  reward: decision.reward,
                });
              },
            );
          } else if (decision.kind === 'fail') {
            const trial = state.trials.get(sample.sampleId);
            const events: NasnetEvent[] = [];
            // A non-retryable failure is already recorded; a lost last lease is not.
            if (trial?.claim)
              events.push(failedEvent(state.experimentId, sample.sampleId, decision.attempt, decision.reason, false));
            events.push(rewardEvent(state.experimentId, sample.sampleId, config.trials.failureReward, 'failure', null));
            act(sample.sampleId, events, decision.expectedRevision, () => {
              report.failed++;
              notify({
                kind: 'failed',
                experimentId: state.experimentId,
                sampleId: sample.sampleId,
                attempt: decision.attempt,
                reason: decision.reason,
                final: true,
              });
            });
          }
        }
      }
      if (options.exitWhenDone && options.experimentId && running.size === 0 && acting.size === 0) {
        const state = experiments.get(options.experimentId);
        if (state?.status === 'completed') void finish();
      }
    };

    const act = (sampleId: string, events: NasnetEvent[], expected: ExpectedRevision, done: () => void) => {
      if (events.length === 0) return;
      acting.add(sampleId);
      store
        .append(trialStream(sampleId), events, expected)
        .then(done, (error: unknown) => {
          // Another worker acted first; the log will show what it did.
          if (!(error instanceof WrongExpectedVersionError)) void finish(error);
        })
        .finally(() => {
          acting.delete(sampleId);
        });
    };

    const startTrial = (
      state: ExperimentState,
      config: SearchConfig,
      index: number,
      attempt: number,
      expected: bigint | 'no_stream',
      takeoverFrom: string | null,
    ) => {
      const sample = state.samples.get(index)!;
      const abort = new AbortController();
      const job: TrainingJob = {
        experimentId: state.experimentId,
        sampleId: sample.sampleId,
        attempt,
        genotype: sample.genotype,
        network: {
          N: config.network.N,
          filters:
            'filters' in config.network ? config.network.filters : filtersNearPenultimate(sample.genotype, config.network.F),
        },
        dataset: config.dataset,
        epochs: config.epochs,
        seed: trialSeed(state.seed, index),
        dataSeed: state.seed,
        settings: config.training,
      };
      const attemptsBefore = state.trials.get(sample.sampleId)?.attemptsUsed ?? 0;
      const done = runTrial(job, config, expected, attemptsBefore + 1, abort, takeoverFrom).catch((error: unknown) =>
        finish(error),
      );
      running.set(sample.sampleId, { abort, done });
      void done.finally(() => {
        running.delete(sample.sampleId);
        schedule();
      });
    };

    const runTrial = async (
      job: TrainingJob,
      config: SearchConfig,
      expected: bigint | 'no_stream',
      attemptsUsed: number,
      abort: AbortController,
      takeoverFrom: string | null,
    ) => {
      const { experimentId, sampleId, attempt } = job;
      const stream = trialStream(sampleId);
      const { backend: backendName } = await backend();
      const leaseMs = config.trials.leaseSeconds * 1000;
      let revision: bigint;
      try {
        const claimed = await store.append(
          stream,
          [claimEvent(job, workerId, plugin.name, backendName, new Date(now() + leaseMs))],
          expected,
        );
        revision = claimed.nextRevision;
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) return;
        throw error;
      }
      notify({ kind: 'claimed', experimentId, sampleId, attempt, takeoverFrom });

      // Appends to a claimed trial are serialised and expect the last revision: a conflict means
      // the lease was taken over, and this attempt must stop.
      let writes: Promise<void> = Promise.resolve();
      let lost = false;
      let lastWrite = now();
      let lastEpoch = 0;
      const write = (events: NasnetEvent[]) => {
        writes = writes.then(async () => {
          if (lost) return;
          try {
            revision = (await store.append(stream, events, revision)).nextRevision;
            lastWrite = now();
          } catch (error) {
            if (!(error instanceof WrongExpectedVersionError)) throw error;
            lost = true;
            abort.abort(new Error(`the claim on ${sampleId} was taken over`));
          }
        });
        return writes;
      };
      const stopOnShutdown = () => abort.abort(new Error('the worker is shutting down'));
      signal.addEventListener('abort', stopOnShutdown, { once: true });
      // A training with no epoch boundary inside its lease still shows it is alive.
      const heartbeat = setInterval(
        () => {
          if (now() - lastWrite >= leaseMs / 3) void write([progressEvent(job, lastEpoch, config.epochs, {})]).catch(() => {});
        },
        Math.max(50, Math.min(leaseMs / 3, 60_000)),
      );

      let result: TrainingResult | null = null;
      let failure: { reason: string; retryable: boolean } | null = null;
      try {
        result = await plugin.train(job, {
          signal: abort.signal,
          progress: (progress) => {
            lastEpoch = progress.epoch;
            notify({ kind: 'progress', experimentId, sampleId, ...progress });
            void write([progressEvent(job, progress.epoch, progress.epochs, finiteMetrics(progress.metrics))]).catch(() => {});
          },
        });
      } catch (error) {
        failure = {
          reason: error instanceof Error ? error.message || error.name : String(error),
          // Unknown errors may be transient (memory, a dead worker thread); the attempt cap bounds the cost.
          retryable: error instanceof TrainingFailure ? error.retryable : true,
        };
      } finally {
        clearInterval(heartbeat);
        signal.removeEventListener('abort', stopOnShutdown);
      }
      await writes;
      if (lost) return;

      if (result) {
        await write([
          completedEvent(job, result),
          rewardEvent(experimentId, sampleId, result.validationAccuracy, 'trained', null),
        ]);
        if (!lost) {
          report.trained++;
          notify({ kind: 'completed', experimentId, sampleId, reward: result.validationAccuracy, seconds: result.seconds });
        }
        return;
      }
      if (abort.signal.aborted) {
        const reason = abort.signal.reason instanceof Error ? abort.signal.reason.message : 'aborted';
        await write([releasedEvent(job, workerId, reason)]);
        report.released++;
        notify({ kind: 'released', experimentId, sampleId, attempt, reason });
        return;
      }
      const final = !failure!.retryable || attemptsUsed >= config.trials.maxAttempts;
      const events: NasnetEvent[] = [failedEvent(experimentId, sampleId, attempt, failure!.reason, failure!.retryable)];
      if (final) events.push(rewardEvent(experimentId, sampleId, config.trials.failureReward, 'failure', null));
      await write(events);
      if (!lost) {
        if (final) report.failed++;
        notify({ kind: 'failed', experimentId, sampleId, attempt, reason: failure!.reason, final });
      }
    };

    const onAbort = () => schedule();
    signal.addEventListener('abort', onAbort, { once: true });
    stop$.subscribe(() => signal.removeEventListener('abort', onAbort));

    // Catch up first, then follow: decisions made on half a log would only cause lost races.
    const catchUp = async () => {
      let position = START;
      for await (const event of store.readAll({ fromPosition: START, filter: { streamPrefixes: prefixes } })) {
        foldEvent(experiments, event);
        position = event.position;
      }
      return position;
    };
    catchUp().then(
      (position) => {
        caughtUp = true;
        const events$ = store.subscribe({ fromPosition: position, filter: { streamPrefixes: prefixes } }).pipe(
          tap((event) => foldEvent(experiments, event)),
          map(() => undefined),
        );
        merge(events$, interval(options.tickMs ?? 1000).pipe(map(() => undefined)))
          .pipe(auditTime(10), takeUntil(stop$))
          .subscribe({
            next: () => {
              try {
                schedule();
              } catch (error) {
                void finish(error);
              }
            },
            error: (error: unknown) => void finish(error),
          });
        schedule();
      },
      (error: unknown) => void finish(error),
    );

    function trialRevision(state: ExperimentState, sampleId: string): bigint | 'no_stream' {
      return state.trials.get(sampleId)?.revision ?? 'no_stream';
    }
  });

  function claimEvent(
    job: TrainingJob,
    worker: string,
    pluginName: string,
    backendName: string,
    deadline: Date,
  ): EventOfType<'TrialClaimed'> {
    return {
      id: deterministicEventId(job.sampleId, 'TrialClaimed', job.attempt, worker),
      type: 'TrialClaimed',
      version: 1,
      data: {
        experimentId: job.experimentId,
        sampleId: job.sampleId,
        workerId: worker,
        plugin: pluginName,
        backend: backendName,
        leaseDeadline: deadline.toISOString(),
        attempt: job.attempt,
      },
      metadata: meta(job.experimentId),
    };
  }

  function progressEvent(
    job: TrainingJob,
    epoch: number,
    epochs: number,
    metrics: Record<string, number>,
  ): EventOfType<'TrainingProgressed'> {
    return {
      id: randomEventId(),
      type: 'TrainingProgressed',
      version: 1,
      data: { experimentId: job.experimentId, sampleId: job.sampleId, attempt: job.attempt, epoch, epochs, metrics },
      metadata: meta(job.experimentId),
    };
  }

  function releasedEvent(job: TrainingJob, worker: string, reason: string): EventOfType<'TrialReleased'> {
    return {
      id: deterministicEventId(job.sampleId, 'TrialReleased', job.attempt, worker),
      type: 'TrialReleased',
      version: 1,
      data: { experimentId: job.experimentId, sampleId: job.sampleId, workerId: worker, attempt: job.attempt, reason },
      metadata: meta(job.experimentId),
    };
  }

  function completedEvent(job: TrainingJob, result: TrainingResult): EventOfType<'TrainingCompleted'> {
    return {
      id: deterministicEventId(job.sampleId, 'TrainingCompleted', job.attempt),
      type: 'TrainingCompleted',
      version: 1,
      data: {
        experimentId: job.experimentId,
        sampleId: job.sampleId,
        attempt: job.attempt,
        validationAccuracy: result.validationAccuracy,
        testAccuracy: result.testAccuracy,
        loss: Number.isFinite(result.loss) ? result.loss : 0,
        params: result.params,
        multAdds: result.multAdds,
        seconds: result.seconds,
        imagesPerSec: result.imagesPerSec,
        backend: result.backend,
        ...(result.device ? { device: result.device } : {}),
        ...(result.evaluation
          ? { evaluation: { batchNorm: result.evaluation.batchNorm, recalibrationImages: result.evaluation.recalibrationImages } }
          : {}),
      },
      metadata: meta(job.experimentId),
    };
  }

  function failedEvent(
    experimentId: string,
    sampleId: string,
    attempt: number,
    reason: string,
    retryable: boolean,
  ): EventOfType<'TrainingFailed'> {
    return {
      id: deterministicEventId(sampleId, 'TrainingFailed', attempt),
      type: 'TrainingFailed',
      version: 1,
      data: { experimentId, sampleId, attempt, reason: reason.slice(0, 2000) || 'unknown error', retryable },
      metadata: meta(experimentId),
    };
  }

  function rewardEvent(
    experimentId: string,
    sampleId: string,
    reward: number,
    source: 'trained' | 'reused' | 'failure',
    reusedFromSampleId: string | null,
  ): EventOfType<'RewardReported'> {
    return {
      id: deterministicEventId(sampleId, 'RewardReported'),
      type: 'RewardReported',
      version: 1,
      data: { experimentId, sampleId, reward, source, reusedFromSampleId },
      metadata: meta(experimentId),
    };
  }
}

/** A child network's seed: the experiment's seed and the sample's index, nothing that depends on timing. */
export function trialSeed(experimentSeed: number, index: number): number {
  return (Math.imul(experimentSeed | 0, 1_000_003) + index * 7919) & 0x7fffffff;
}

function finiteMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, value]) => Number.isFinite(value)));
}
