import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import { TRIAL_STREAM_PREFIX } from '../events/streams.ts';
import type { EventStore } from '../store/port.ts';
import type { ExperimentState } from './experiment-state.ts';

export type RewardsBySample = Map<string, { reward: number; source: string }>;

/** Defined here rather than in the controller loop so that this module does not import it back. */
export type RewardActivity = { kind: 'reward'; experimentId: string; sampleId: string; reward: number; source: string };

export interface RewardFeed {
  /** Mutated in place as rewards arrive: `rewards$` re-emits this same map. */
  rewards: RewardsBySample;
  rewards$: BehaviorSubject<RewardsBySample>;
  /**
   * The reason of an ExperimentStopped appended by someone else. Not replayed: a stop that
   * arrives while nobody listens surfaces instead as a conflict on the controller's next append.
   */
  stoppedElsewhere$: Observable<string>;
  unsubscribe(): void;
}

export interface RewardFeedInput {
  store: EventStore;
  experimentId: string;
  /** The experiment's stream, where a stop by someone else shows up. */
  stream: string;
  state: ExperimentState;
  /** ExperimentStopped at or before this revision is history the state already holds, not a new stop. */
  stoppedAfterRevision: bigint;
  notify: (activity: RewardActivity) => void;
}

/**
 * Rewards as they are reported, by anyone; the catch-up includes those reported before a crash.
 * Someone else may stop the experiment (GraphQL's stopExperiment appends ExperimentStopped to
 * the experiment stream); the controller then ends without writing, as if it had been signalled.
 */
export async function followRewards(input: RewardFeedInput): Promise<RewardFeed> {
  const { store, experimentId, stream, stoppedAfterRevision, notify } = input;
  const rewards = rewardsInState(input.state);
  const rewards$ = new BehaviorSubject(rewards);
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
      if (event.type === 'ExperimentStopped' && event.stream === stream && event.revision > stoppedAfterRevision) {
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
  try {
    await catchUpRewards(store, experimentId, rewards);
  } catch (error) {
    // Nobody will get the feed to close it.
    subscription.unsubscribe();
    throw error;
  }
  rewards$.next(rewards);
  return { rewards, rewards$, stoppedElsewhere$, unsubscribe: () => subscription.unsubscribe() };
}

function rewardsInState(state: ExperimentState): RewardsBySample {
  const rewards: RewardsBySample = new Map();
  for (const trial of state.trials.values())
    if (trial.reward) rewards.set(trial.sampleId, { reward: trial.reward.reward, source: trial.reward.source });
  return rewards;
}

/** Rewards reported between loading the state and subscribing. */
async function catchUpRewards(store: EventStore, experimentId: string, rewards: RewardsBySample): Promise<void> {
  for await (const event of store.readAll({
    filter: { types: ['RewardReported'], streamPrefixes: [`${TRIAL_STREAM_PREFIX}${experimentId}-`] },
  })) {
    if (event.type === 'RewardReported' && event.data.experimentId === experimentId)
      rewards.set(event.data.sampleId, { reward: event.data.reward, source: event.data.source });
  }
}
