import { auditTime, interval, map, merge, Subject, takeUntil, tap } from 'rxjs';
import type { EventMetadata, NasnetEvent } from '../events/event.ts';
import { eventMetadata } from '../events/metadata.ts';
import { EXPERIMENT_STREAM_PREFIX, TRIAL_STREAM_PREFIX, trialStream } from '../events/streams.ts';
import { rewardReported, trainingFailed } from '../events/trial-events.ts';
import { WrongExpectedVersionError } from '../store/errors.ts';
import { START, type EventStore, type ExpectedRevision } from '../store/port.ts';
import { foldEvent, type ExperimentState } from './experiment-state.ts';
import { failureReward, runTrial, type TrialContext, type TrialOutcome } from './run-trial.ts';
import type { SearchConfig } from './search-config.ts';
import type { TrainerPlugin } from './trainer-plugin.ts';
import { decideTrial, type TrialDecision } from './trial-decisions.ts';
import { trainingJob } from './trial-job.ts';
import type { WorkerActivity } from './worker-activity.ts';
import { runnableConfigs } from './worker-configs.ts';

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

type Decision<K extends TrialDecision['kind']> = Extract<TrialDecision, { kind: K }>;

/**
 * The trainer side of a search: folds the log into experiment states, decides per sampled
 * architecture (trial-decisions.ts) and claims with an expected revision — so two workers, in
 * one process or many, never train the same attempt — then runs the attempt (run-trial.ts).
 * The log is the only coordination; nothing is held in memory that another worker would need.
 */
export function runWorker(options: WorkerOptions): Promise<WorkerReport> {
  const { concurrency } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`workers must be a whole number >= 1 (got ${concurrency})`);
  return new Promise<WorkerReport>((resolve, reject) => new Worker(options, resolve, reject).start());
}

class Worker {
  private readonly experiments = new Map<string, ExperimentState>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Reuse/failure appends in flight, so the same decision is not acted on twice. */
  private readonly acting = new Set<string>();
  private readonly report: WorkerReport = { trained: 0, failed: 0, reused: 0, released: 0 };
  private readonly stop$ = new Subject<void>();
  private readonly trial: TrialContext;
  private readonly configOf: (state: ExperimentState) => SearchConfig | null;
  private readonly holderAlive: (workerId: string) => boolean;
  private caughtUp = false;
  private finished = false;

  constructor(
    private readonly options: WorkerOptions,
    private readonly resolve: (report: WorkerReport) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    const { store, plugin, workerId, signal } = options;
    const notify = options.onActivity ?? (() => {});
    let described: Promise<{ backend: string; device: string }> | null = null;
    const backend = () => (described ??= plugin.describe?.() ?? Promise.resolve({ backend: plugin.name, device: 'unknown' }));
    this.trial = { store, plugin, workerId, shutdown: signal, now: options.now ?? Date.now, notify, backend };
    this.configOf = runnableConfigs(plugin.name, notify);
    this.holderAlive = options.holderAlive ?? (() => true);
  }

  start(): void {
    const { signal } = this.options;
    const onAbort = () => this.schedule();
    signal.addEventListener('abort', onAbort, { once: true });
    this.stop$.subscribe(() => signal.removeEventListener('abort', onAbort));
    // Catch up first, then follow: decisions made on half a log would only cause lost races.
    this.catchUp().then(
      (position) => this.follow(position),
      (error: unknown) => void this.finish(error),
    );
  }

  private get prefixes(): string[] {
    const { experimentId } = this.options;
    return experimentId
      ? [EXPERIMENT_STREAM_PREFIX + experimentId, `${TRIAL_STREAM_PREFIX}${experimentId}-`]
      : [EXPERIMENT_STREAM_PREFIX, TRIAL_STREAM_PREFIX];
  }

  private async catchUp(): Promise<bigint> {
    let position = START;
    for await (const event of this.options.store.readAll({ fromPosition: START, filter: { streamPrefixes: this.prefixes } })) {
      foldEvent(this.experiments, event);
      position = event.position;
    }
    return position;
  }

  /** Decides again on every new event and every tick (leases and back-offs run out without one). */
  private follow(position: bigint): void {
    this.caughtUp = true;
    const events$ = this.options.store.subscribe({ fromPosition: position, filter: { streamPrefixes: this.prefixes } }).pipe(
      tap((event) => foldEvent(this.experiments, event)),
      map(() => undefined),
    );
    merge(events$, interval(this.options.tickMs ?? 1000).pipe(map(() => undefined)))
      .pipe(auditTime(10), takeUntil(this.stop$))
      .subscribe({
        next: () => {
          try {
            this.schedule();
          } catch (error) {
            void this.finish(error);
          }
        },
        error: (error: unknown) => void this.finish(error),
      });
    this.schedule();
  }

  private schedule(): void {
    if (this.finished) return;
    if (this.options.signal.aborted) {
      void this.finish();
      return;
    }
    if (!this.caughtUp) return;
    for (const state of this.experiments.values()) {
      if (this.options.experimentId && state.experimentId !== this.options.experimentId) continue;
      if (state.status !== 'running') continue;
      const config = this.configOf(state);
      if (config) this.scheduleExperiment(state, config);
    }
    if (this.experimentDone()) void this.finish();
  }

  private scheduleExperiment(state: ExperimentState, config: SearchConfig): void {
    for (const index of [...state.open].sort((a, b) => a - b)) {
      const { sampleId } = state.samples.get(index)!;
      if (this.running.has(sampleId) || this.acting.has(sampleId)) continue;
      const decision = decideTrial(state, index, { now: this.trial.now(), config, holderAlive: this.holderAlive });
      if (decision.kind === 'claim') {
        if (this.running.size < this.options.concurrency) this.startTrial(state, config, index, decision);
      } else if (decision.kind === 'reuse') this.reuse(state, sampleId, decision);
      else if (decision.kind === 'fail') this.failForGood(state, config, sampleId, decision);
    }
  }

  /** With exitWhenDone: the experiment is completed and nothing of it runs here. */
  private experimentDone(): boolean {
    const { exitWhenDone, experimentId } = this.options;
    if (!exitWhenDone || !experimentId || this.running.size > 0 || this.acting.size > 0) return false;
    return this.experiments.get(experimentId)?.status === 'completed';
  }

  private startTrial(state: ExperimentState, config: SearchConfig, index: number, decision: Decision<'claim'>): void {
    const job = trainingJob(state, config, index, decision.attempt);
    const abort = new AbortController();
    const attemptsUsed = (state.trials.get(job.sampleId)?.attemptsUsed ?? 0) + 1;
    const { expectedRevision: expected, takeoverFrom } = decision;
    const done = runTrial(this.trial, { job, config, expected, attemptsUsed, takeoverFrom, abort }).then(
      (outcome) => this.count(outcome),
      // Not returned: finish waits for the running trials, this one among them.
      (error: unknown) => void this.finish(error),
    );
    this.running.set(job.sampleId, { abort, done });
    void done.finally(() => {
      this.running.delete(job.sampleId);
      this.schedule();
    });
  }

  private count(outcome: TrialOutcome): void {
    if (outcome === 'trained') this.report.trained++;
    else if (outcome === 'released') this.report.released++;
    else if (outcome === 'failed') this.report.failed++;
  }

  private reuse(state: ExperimentState, sampleId: string, { fromSampleId, reward }: Decision<'reuse'>): void {
    const { experimentId } = state;
    const event = rewardReported(
      { experimentId, sampleId, reward, source: 'reused', reusedFromSampleId: fromSampleId },
      this.metadata(experimentId),
    );
    this.act(sampleId, [event], state.trials.get(sampleId)?.revision ?? 'no_stream', () => {
      this.report.reused++;
      this.trial.notify({ kind: 'reused', experimentId, sampleId, fromSampleId, reward });
    });
  }

  /** Every attempt is used: record the failure reward. */
  private failForGood(state: ExperimentState, config: SearchConfig, sampleId: string, decision: Decision<'fail'>): void {
    const { experimentId } = state;
    const { attempt, reason } = decision;
    const events: NasnetEvent[] = [];
    // A non-retryable failure is already recorded; a lost last lease is not.
    if (state.trials.get(sampleId)?.claim)
      events.push(trainingFailed({ experimentId, sampleId, attempt, reason, retryable: false }, this.metadata(experimentId)));
    events.push(failureReward(experimentId, sampleId, config, this.metadata(experimentId)));
    this.act(sampleId, events, decision.expectedRevision, () => {
      this.report.failed++;
      this.trial.notify({ kind: 'failed', experimentId, sampleId, attempt, reason, final: true });
    });
  }

  /** Appends what a decision calls for; a conflict means another worker acted first, and the log will show what it did. */
  private act(sampleId: string, events: NasnetEvent[], expected: ExpectedRevision, done: () => void): void {
    this.acting.add(sampleId);
    this.options.store
      .append(trialStream(sampleId), events, expected)
      .then(done, (error: unknown) => {
        if (!(error instanceof WrongExpectedVersionError)) void this.finish(error);
      })
      .finally(() => {
        this.acting.delete(sampleId);
      });
  }

  private async finish(error?: unknown): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.stop$.next();
    for (const run of this.running.values()) run.abort.abort(new Error('the worker is shutting down'));
    await Promise.allSettled([...this.running.values()].map((run) => run.done));
    if (error) this.reject(error);
    else this.resolve(this.report);
  }

  private metadata(experimentId: string): EventMetadata {
    return eventMetadata(experimentId, this.trial.workerId);
  }
}
