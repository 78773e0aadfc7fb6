import { BehaviorSubject, filter, firstValueFrom, fromEvent, map, race, Subject, take } from 'rxjs';
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
import { experimentStream, TRIAL_STREAM_PREFIX } from '../events/streams.ts';
import { WrongExpectedVersionError } from '../store/errors.ts';
import type { EventStore } from '../store/port.ts';
import { decideStop } from './decide-stop.ts';
import { foldEvent, type ExperimentState } from './experiment-state.ts';
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
  | { kind: 'reward'; experimentId: string; sampleId: string; reward: number; source: string }
  | { kind: 'updated'; experimentId: string; policyVersion: number; meanReward: number; baseline: number | null }
  | { kind: 'completed'; experimentId: string }
  | { kind: 'stopped'; experimentId: string; reason: string }
  | { kind: 'resumed'; experimentId: string; policyVersion: number; samples: number };

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
  try {
    await store.append(
      experimentStream(experimentId),
      [created, controllerInitialized(experimentId, strategy, meta)],
      'no_stream',
    );
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) throw new ExperimentExistsError(experimentId);
    throw error;
  }
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
  const config = validateSearchConfig(state.config);
  const strategy = rebuildStrategy(state);
  const meta = (): EventMetadata => eventMetadata(experimentId, writerId);
  // The state follows this controller's own appends: a stop is decided on it.
  const append = async (events: NasnetEvent[]) => {
    state.revision = (await store.append(stream, events, state.revision)).nextRevision;
  };

  if (state.status === 'stopped') {
    await append([experimentResumed({ experimentId, samples: state.samples.size, writerId }, state.revision, meta())]);
    state.status = 'running';
    notify({ kind: 'resumed', experimentId, policyVersion: strategy.policyVersion, samples: state.samples.size });
  }

  // Rewards as they are reported, by anyone; the catch-up includes those reported before a crash.
  const rewards = new Map<string, { reward: number; source: string }>();
  for (const trial of state.trials.values())
    if (trial.reward) rewards.set(trial.sampleId, { reward: trial.reward.reward, source: trial.reward.source });
  const rewards$ = new BehaviorSubject(rewards);
  // Someone else may stop the experiment (GraphQL's stopExperiment appends ExperimentStopped to
  // this stream); the controller then ends without writing, as if it had been signalled.
  const stoppedRevision = state.revision;
  const stoppedElsewhere$ = new Subject<string>();
  const subscription = store
    .subscribe({
      fromPosition: await store.headPosition(),
      filter: {
        types: ['RewardReported', 'ExperimentStopped'],
        streamPrefixes: [`${TRIAL_STREAM_PREFIX}${experimentId}-`, stream],
      },
    })
    .subscribe((event) => {
      if (event.type === 'ExperimentStopped' && event.stream === stream && event.revision > stoppedRevision) {
        stoppedElsewhere$.next(event.data.reason);
        return;
      }
      if (event.type !== 'RewardReported' || event.data.experimentId !== experimentId) return;
      if (!rewards.has(event.data.sampleId))
        notify({
          kind: 'reward',
          experimentId,
          sampleId: event.data.sampleId,
          reward: event.data.reward,
          source: event.data.source,
        });
      rewards.set(event.data.sampleId, { reward: event.data.reward, source: event.data.source });
      rewards$.next(rewards);
    });
  // Rewards reported between loading the state and subscribing.
  for await (const event of store.readAll({
    filter: { types: ['RewardReported'], streamPrefixes: [`${TRIAL_STREAM_PREFIX}${experimentId}-`] },
  })) {
    if (event.type === 'RewardReported' && event.data.experimentId === experimentId)
      rewards.set(event.data.sampleId, { reward: event.data.reward, source: event.data.source });
  }
  rewards$.next(rewards);

  const { batchSize } = controllerSetup(state.config).controller;
  const stopped$ = fromEvent(signal, 'abort').pipe(
    take(1),
    map(() => 'stopped' as const),
  );
  let elsewhereReason = '';
  const elsewhere$ = stoppedElsewhere$.pipe(
    take(1),
    map((reason) => ((elsewhereReason = reason), 'elsewhere' as const)),
  );
  try {
    for (;;) {
      const first = strategy.policyVersion * batchSize;
      if (first >= config.samples) break;
      const indices = Array.from({ length: Math.min(batchSize, config.samples - first) }, (_, i) => first + i);
      const missing = indices.filter((index) => !state.samples.has(index));
      if (missing.length > 0) {
        const drawn = strategy.sampleBatch(missing);
        await append(drawn.map((sample) => architectureSampled(experimentId, sample, meta())));
        for (const sample of drawn) state.samples.set(sample.index, { ...sample, sampleId: `${experimentId}-${sample.index}` });
        notify({ kind: 'sampled', experimentId, policyVersion: strategy.policyVersion, indices: missing });
      }
      const batch = indices.map((index) => state.samples.get(index)!);
      if (signal.aborted) return await stop(signal);
      const outcome = await firstValueFrom(
        race(
          rewards$.pipe(
            filter((known) => batch.every((sample) => known.has(sample.sampleId))),
            map(() => 'rewarded' as const),
          ),
          stopped$,
          elsewhere$,
        ),
      );
      if (outcome === 'stopped') return await stop(signal);
      if (outcome === 'elsewhere') return stoppedByOthers(elsewhereReason);
      const scored = batch.map((sample) => ({ sample, reward: rewards.get(sample.sampleId)!.reward }));
      const update = strategy.update(scored);
      await append([
        policyUpdated(
          experimentId,
          update,
          scored.map(({ sample, reward }) => ({ sampleId: sample.sampleId, reward })),
          meta(),
        ),
      ]);
      notify({
        kind: 'updated',
        experimentId,
        policyVersion: update.policyVersion,
        meanReward: update.meanReward,
        baseline: update.baselineAfter,
      });
    }
    const summary = completionSummary(state, rewards);
    await append([experimentCompleted({ experimentId, ...summary }, meta())]);
    notify({ kind: 'completed', experimentId });
    return { status: 'completed', policyVersion: strategy.policyVersion };
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) {
      const last = (await store.readStream(stream, { direction: 'backwards', maxCount: 1 })).events[0];
      if (last?.type === 'ExperimentStopped') return stoppedByOthers(last.data.reason);
      throw new Error(
        `another process is writing experiment ${experimentId} (its stream moved on under this controller); this controller stopped without writing`,
      );
    }
    throw error;
  } finally {
    subscription.unsubscribe();
  }

  function stoppedByOthers(reason: string): ControllerOutcome {
    notify({ kind: 'stopped', experimentId, reason });
    return { status: 'stopped', policyVersion: strategy.policyVersion };
  }

  async function stop(abortSignal: AbortSignal): Promise<ControllerOutcome> {
    const reason =
      abortSignal.reason instanceof Error
        ? abortSignal.reason.message
        : typeof abortSignal.reason === 'string'
          ? abortSignal.reason
          : 'stopped';
    const decision = decideStop(state, { reason, metadata: meta() });
    // This controller runs the experiment, so it is running; anything else is a bug here.
    if (decision.kind !== 'stop') throw new Error(`the controller of ${experimentId} cannot stop it: ${decision.kind}`);
    await append([decision.event]);
    notify({ kind: 'stopped', experimentId, reason });
    return { status: 'stopped', policyVersion: strategy.policyVersion };
  }
}

/**
 * The controller as the log left it: the initial parameters, then every recorded update
 * replayed with the recorded samples and rewards; every digest must match.
 */
export function rebuildStrategy(state: ExperimentState): SearchStrategy {
  const setup = controllerSetup(state.config);
  const strategy = createStrategy(setup.strategy, state.seed, setup.controller);
  if (state.initialDigest !== null && strategy.digest() !== state.initialDigest)
    throw new ControllerDivergedError(state.experimentId, 'the initial parameters differ from ControllerInitialized');
  for (const update of state.updates) {
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
  return strategy;
}

function completionSummary(state: ExperimentState, rewards: Map<string, { reward: number; source: string }>) {
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
