import { filter, firstValueFrom, fromEvent, map, race, take } from 'rxjs';
import { createStrategy } from '../controller/create-strategy.ts';
import { controllerSetup } from '../controller/experiment-config.ts';
import type { SampledArchitecture, SearchStrategy } from '../controller/strategy.ts';
import type { EventMetadata, NasnetEvent } from '../events/event.ts';
import {
  architectureSampled,
  controllerInitialized,
  experimentCompleted,
  experimentCreated,
  experimentResumed,
  policyUpdated,
} from '../events/experiment-events.ts';
import { eventMetadata } from '../events/metadata.ts';
import { experimentStream, snapshotStream, TRIAL_STREAM_PREFIX } from '../events/streams.ts';
import { WrongExpectedVersionError } from '../store/errors.ts';
import type { EventStore } from '../store/port.ts';
import { decideStop } from './decide-stop.ts';
import { foldEvent, type ExperimentState } from './experiment-state.ts';
import {
  DEFAULT_SNAPSHOT_EVERY,
  newestSnapshots,
  snapshotEvent,
  startingPoint,
  type SnapshotData,
} from './controller-snapshots.ts';
import { followRewards, type RewardActivity, type RewardFeed, type RewardsBySample } from './reward-feed.ts';
import { searchConfigJson, validateSearchConfig, type SearchConfig } from './search-config.ts';

export class UnknownExperimentError extends Error {
  constructor(readonly experimentId: string) {
    super(`no experiment ${JSON.stringify(experimentId)} in this store (list them with: nasnet events --type ExperimentCreated)`);
    this.name = 'UnknownExperimentError';
  }
}

export class ExperimentExistsError extends Error {
  constructor(readonly experimentId: string) {
    super(
      `experiment ${JSON.stringify(experimentId)} already exists: continue it with \`nasnet resume ${experimentId}\` or choose another --experiment-id`,
    );
    this.name = 'ExperimentExistsError';
  }
}

/** The log and this code disagree about the controller: continuing would corrupt the experiment. */
export class ControllerDivergedError extends Error {
  constructor(experimentId: string, what: string) {
    super(
      `experiment ${experimentId} cannot be continued by this code: ${what} (run \`nasnet audit ${experimentId}\` for details)`,
    );
    this.name = 'ControllerDivergedError';
  }
}

export type ControllerActivity =
  | { kind: 'sampled'; experimentId: string; policyVersion: number; indices: number[] }
  | RewardActivity
  | { kind: 'updated'; experimentId: string; policyVersion: number; meanReward: number; baseline: number | null }
  | { kind: 'completed'; experimentId: string }
  | { kind: 'stopped'; experimentId: string; reason: string }
  | { kind: 'resumed'; experimentId: string; policyVersion: number; samples: number }
  /** Something the user should know that does not stop the controller (a snapshot it could not use). */
  | { kind: 'warning'; experimentId: string; message: string };

/** Appends ExperimentCreated and ControllerInitialized: a new experiment at policy version 0. */
export async function createExperiment(
  store: EventStore,
  input: { experimentId: string; config: SearchConfig; seed: number; codeVersion: string; writerId: string },
): Promise<void> {
  const { experimentId, seed, writerId } = input;
  const config = validateSearchConfig(input.config);
  const setup = controllerSetup(searchConfigJson(config));
  const strategy = createStrategy(setup.strategy, seed, setup.controller);
  const meta = eventMetadata(experimentId, writerId);
  const created = experimentCreated(
    { experimentId, config: searchConfigJson(config), seed, codeVersion: input.codeVersion },
    meta,
  );
  const stream = experimentStream(experimentId);
  try {
    await store.append(stream, [created, controllerInitialized(experimentId, strategy, meta)], 'no_stream');
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) throw new ExperimentExistsError(experimentId);
    throw error;
  }
  // The events' ids derive from the experiment id, so the store takes a second creation for a
  // retry of the first and reports success: only the stored metadata tells whose it was.
  const [stored] = (await store.readStream(stream, { maxCount: 1 })).events;
  if (stored?.metadata.writerId !== meta.writerId || stored.metadata.timestamp !== meta.timestamp)
    throw new ExperimentExistsError(experimentId);
}

/** Reads an experiment (its stream and its trials) into the shared fold. */
export async function loadExperiment(store: EventStore, experimentId: string): Promise<ExperimentState> {
  const stream = experimentStream(experimentId);
  const experiments = new Map<string, ExperimentState>();
  const { exists, events } = await store.readStream(stream);
  if (!exists) throw new UnknownExperimentError(experimentId);
  for (const event of events) foldEvent(experiments, event);
  for await (const event of store.readAll({ filter: { streamPrefixes: [`${TRIAL_STREAM_PREFIX}${experimentId}-`] } }))
    foldEvent(experiments, event);
  const state = experiments.get(experimentId);
  if (!state) throw new UnknownExperimentError(experimentId);
  return state;
}

export interface ControllerOptions {
  store: EventStore;
  experimentId: string;
  writerId: string;
  /** Aborting stops the search: ExperimentStopped is appended and the loop returns. */
  signal: AbortSignal;
  onActivity?: (activity: ControllerActivity) => void;
  /** Record a snapshot of the controller every this many policy updates (0: never). Default DEFAULT_SNAPSHOT_EVERY. */
  snapshotEvery?: number;
}

export interface ControllerOutcome {
  status: 'completed' | 'stopped';
  policyVersion: number;
}

/**
 * The controller's pipeline (README, "The search runtime"): sample a batch → append ArchitectureSampled →
 * wait for the batch's RewardReported → update the policy → append PolicyUpdated → next
 * batch, until the sample budget is spent → ExperimentCompleted. Batch k is always drawn by
 * policy version k (indices k·B … k·B+B−1), so where the loop stands follows from the log
 * alone: a resumed controller replays the recorded updates, re-derives the same parameters
 * (checked against every recorded digest) and draws only what is missing. Every append
 * expects the experiment stream's revision, so a second controller on the same experiment
 * fails instead of interleaving.
 */
export async function runController(options: ControllerOptions): Promise<ControllerOutcome> {
  const { store, experimentId, writerId, signal } = options;
  const notify = options.onActivity ?? (() => {});
  const stream = experimentStream(experimentId);
  const state = await loadExperiment(store, experimentId);
  if (state.status === 'completed') return { status: 'completed', policyVersion: state.policyVersion };
  const { strategy, ignored } = await rebuildFromLog(store, state);
  for (const message of ignored) notify({ kind: 'warning', experimentId, message });
  const config = validateSearchConfig(state.config);
  const snapshotEvery = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  const run: ControllerRun = { store, experimentId, writerId, stream, state, strategy, notify, snapshotEvery };
  if (state.status === 'stopped') await resume(run);
  const feed = await followRewards({ store, experimentId, stream, state, stoppedAfterRevision: state.revision, notify });
  const { batchSize } = controllerSetup(state.config).controller;
  try {
    return await searchBatches(run, { batchSize, samples: config.samples }, feed, signal);
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) return await outcomeOfConflict(run);
    throw error;
  } finally {
    feed.unsubscribe();
  }
}

/** One controller run: what its steps write through. */
interface ControllerRun {
  store: EventStore;
  experimentId: string;
  writerId: string;
  stream: string;
  /** Follows this run's own appends: every append expects its revision, and a stop is decided on it. */
  state: ExperimentState;
  strategy: SearchStrategy;
  notify: (activity: ControllerActivity) => void;
  snapshotEvery: number;
}

type DrawnSample = SampledArchitecture & { sampleId: string };

type BatchOutcome = { kind: 'rewarded' } | { kind: 'stopped' } | { kind: 'elsewhere'; reason: string };

async function append(run: ControllerRun, events: NasnetEvent[]): Promise<void> {
  run.state.revision = (await run.store.append(run.stream, events, run.state.revision)).nextRevision;
}

function meta(run: ControllerRun): EventMetadata {
  return eventMetadata(run.experimentId, run.writerId);
}

async function resume(run: ControllerRun): Promise<void> {
  const { experimentId, writerId, state } = run;
  await append(run, [experimentResumed({ experimentId, samples: state.samples.size, writerId }, state.revision, meta(run))]);
  state.status = 'running';
  run.notify({ kind: 'resumed', experimentId, policyVersion: run.strategy.policyVersion, samples: state.samples.size });
}

async function searchBatches(
  run: ControllerRun,
  budget: { batchSize: number; samples: number },
  feed: RewardFeed,
  signal: AbortSignal,
): Promise<ControllerOutcome> {
  const { batchSize, samples } = budget;
  for (;;) {
    const first = run.strategy.policyVersion * batchSize;
    if (first >= samples) break;
    const indices = Array.from({ length: Math.min(batchSize, samples - first) }, (_, i) => first + i);
    await drawMissing(run, indices);
    const batch = indices.map((index) => run.state.samples.get(index)!);
    // fromEvent sees only aborts still to come.
    if (signal.aborted) return await stop(run, signal);
    const outcome = await awaitRewards(batch, feed, signal);
    if (outcome.kind === 'stopped') return await stop(run, signal);
    if (outcome.kind === 'elsewhere') return stoppedByOthers(run, outcome.reason);
    await recordUpdate(run, batch, feed.rewards);
  }
  return await complete(run, feed.rewards);
}

/** A resumed controller may find its batch already drawn (or partly): it draws only the rest. */
async function drawMissing(run: ControllerRun, indices: number[]): Promise<void> {
  const { experimentId, state, strategy } = run;
  const missing = indices.filter((index) => !state.samples.has(index));
  if (missing.length === 0) return;
  const drawn = strategy.sampleBatch(missing);
  await append(
    run,
    drawn.map((sample) => architectureSampled(experimentId, sample, meta(run))),
  );
  for (const sample of drawn) state.samples.set(sample.index, { ...sample, sampleId: `${experimentId}-${sample.index}` });
  run.notify({ kind: 'sampled', experimentId, policyVersion: strategy.policyVersion, indices: missing });
}

/** Whichever comes first: the batch's last reward, this controller's signal, or a stop by someone else. */
function awaitRewards(batch: DrawnSample[], feed: RewardFeed, signal: AbortSignal): Promise<BatchOutcome> {
  return firstValueFrom(
    race(
      feed.rewards$.pipe(
        filter((known) => batch.every((sample) => known.has(sample.sampleId))),
        map((): BatchOutcome => ({ kind: 'rewarded' })),
      ),
      fromEvent(signal, 'abort').pipe(
        take(1),
        map((): BatchOutcome => ({ kind: 'stopped' })),
      ),
      feed.stoppedElsewhere$.pipe(
        take(1),
        map((reason): BatchOutcome => ({ kind: 'elsewhere', reason })),
      ),
    ),
  );
}

async function recordUpdate(run: ControllerRun, batch: DrawnSample[], rewards: RewardsBySample): Promise<void> {
  const { experimentId, strategy } = run;
  const scored = batch.map((sample) => ({ sample, reward: rewards.get(sample.sampleId)!.reward }));
  const update = strategy.update(scored);
  await append(run, [
    policyUpdated(
      experimentId,
      update,
      scored.map(({ sample, reward }) => ({ sampleId: sample.sampleId, reward })),
      meta(run),
    ),
  ]);
  if (run.snapshotEvery > 0 && update.policyVersion % run.snapshotEvery === 0)
    // Its own stream, which only this controller writes, once per version (a retry is a duplicate id).
    await run.store.append(snapshotStream(experimentId), [snapshotEvent(experimentId, strategy, meta(run))], 'any');
  run.notify({
    kind: 'updated',
    experimentId,
    policyVersion: update.policyVersion,
    meanReward: update.meanReward,
    baseline: update.baselineAfter,
  });
}

async function complete(run: ControllerRun, rewards: RewardsBySample): Promise<ControllerOutcome> {
  const { experimentId } = run;
  const summary = completionSummary(run.state, rewards);
  await append(run, [experimentCompleted({ experimentId, ...summary }, meta(run))]);
  run.notify({ kind: 'completed', experimentId });
  return { status: 'completed', policyVersion: run.strategy.policyVersion };
}

/** A stop by someone else is a normal end; any other writer on this stream would corrupt the experiment. */
async function outcomeOfConflict(run: ControllerRun): Promise<ControllerOutcome> {
  const last = (await run.store.readStream(run.stream, { direction: 'backwards', maxCount: 1 })).events[0];
  if (last?.type === 'ExperimentStopped') return stoppedByOthers(run, last.data.reason);
  throw new Error(
    `another process is writing experiment ${run.experimentId} (its stream moved on under this controller); this controller stopped without writing`,
  );
}

/** The stop is already in the log: nothing to write. */
function stoppedByOthers(run: ControllerRun, reason: string): ControllerOutcome {
  run.notify({ kind: 'stopped', experimentId: run.experimentId, reason });
  return { status: 'stopped', policyVersion: run.strategy.policyVersion };
}

async function stop(run: ControllerRun, signal: AbortSignal): Promise<ControllerOutcome> {
  const { experimentId } = run;
  const reason = abortReason(signal);
  const decision = decideStop(run.state, { reason, metadata: meta(run) });
  // This controller runs the experiment, so it is running; anything else is a bug here.
  if (decision.kind !== 'stop') throw new Error(`the controller of ${experimentId} cannot stop it: ${decision.kind}`);
  await append(run, [decision.event]);
  run.notify({ kind: 'stopped', experimentId, reason });
  return { status: 'stopped', policyVersion: run.strategy.policyVersion };
}

function abortReason(signal: AbortSignal): string {
  if (signal.reason instanceof Error) return signal.reason.message;
  return typeof signal.reason === 'string' ? signal.reason : 'stopped';
}

/**
 * The controller as the log left it: from the newest snapshot the log vouches for (or the
 * initial parameters), every later recorded update replayed with the recorded samples and
 * rewards; every digest must match. Snapshots that do not check out are named in `ignored`.
 */
export function rebuildStrategy(
  state: ExperimentState,
  snapshots: readonly SnapshotData[] = [],
): { strategy: SearchStrategy; replayed: number; ignored: string[] } {
  const start = startingPoint(state, snapshots);
  const { strategy } = start;
  if (start.from === 0 && state.initialDigest !== null && strategy.digest() !== state.initialDigest)
    throw new ControllerDivergedError(state.experimentId, 'the initial parameters differ from ControllerInitialized');
  for (const update of state.updates.slice(start.from)) {
    const batch = update.samples.map(({ sampleId, reward }) => {
      const index = state.sampleIndex.get(sampleId);
      const sample: SampledArchitecture | undefined = index === undefined ? undefined : state.samples.get(index);
      if (!sample)
        throw new ControllerDivergedError(
          state.experimentId,
          `PolicyUpdated v${update.policyVersion} names sample ${sampleId}, which was never drawn`,
        );
      return { sample, reward };
    });
    if (strategy.digest() !== update.paramsDigestBefore)
      throw new ControllerDivergedError(state.experimentId, `parameters before update v${update.policyVersion} differ`);
    const replayed = strategy.update(batch);
    if (replayed.paramsDigestAfter !== update.paramsDigestAfter)
      throw new ControllerDivergedError(state.experimentId, `parameters after update v${update.policyVersion} differ`);
  }
  return { strategy, replayed: state.updates.length - start.from, ignored: start.ignored };
}

/** The controller as the log left it, starting from the newest snapshot that checks out (see rebuildStrategy). */
export async function rebuildFromLog(
  store: EventStore,
  state: ExperimentState,
): Promise<{ strategy: SearchStrategy; replayed: number; ignored: string[] }> {
  return rebuildStrategy(state, await newestSnapshots(store, state.experimentId));
}

/** The experiment's controller, ready to go on: its state read from the store, its strategy rebuilt. */
export async function prepareController(
  store: EventStore,
  experimentId: string,
): Promise<{ state: ExperimentState; strategy: SearchStrategy; replayed: number; ignored: string[] }> {
  const state = await loadExperiment(store, experimentId);
  return { state, ...(await rebuildFromLog(store, state)) };
}

function completionSummary(state: ExperimentState, rewards: RewardsBySample) {
  let completed = 0;
  let failed = 0;
  let best: { sampleId: string; reward: number; index: number } | null = null;
  for (const sample of state.samples.values()) {
    const reward = rewards.get(sample.sampleId);
    if (!reward) continue;
    if (reward.source === 'failure') {
      failed++;
      continue;
    }
    completed++;
    if (!best || reward.reward > best.reward || (reward.reward === best.reward && sample.index < best.index))
      best = { sampleId: sample.sampleId, reward: reward.reward, index: sample.index };
  }
  return {
    samples: state.samples.size,
    completed,
    failed,
    bestSampleId: best?.sampleId ?? null,
    bestReward: best?.reward ?? null,
  };
}
