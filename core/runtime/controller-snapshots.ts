import { controllerConfig } from '../controller/config.ts';
import { createStrategy, restoreStrategy } from '../controller/create-strategy.ts';
import { controllerSetup } from '../controller/experiment-config.ts';
import type { SearchStrategy, StrategySnapshot } from '../controller/strategy.ts';
import type { EventData } from '../events/catalogue.ts';
import type { EventMetadata } from '../events/event.ts';
import { controllerSnapshotted } from '../events/experiment-events.ts';
import { snapshotStream } from '../events/streams.ts';
import type { EventStore } from '../store/port.ts';
import type { ExperimentState } from './experiment-state.ts';

/**
 * Controller snapshots (README, "Controller snapshots"): every K policy updates the
 * controller records its whole state in `snapshot-<experimentId>`, so a resume replays only
 * the updates after the newest snapshot that checks out instead of every update since the
 * start. Chosen by measurement (bench:replay): K = 20 keeps a resume's replay under 20
 * updates for a ~2 MB event per 20 updates (PPO, the paper's controller).
 */
export const DEFAULT_SNAPSHOT_EVERY = 20;

/** How many of the newest snapshots a resume tries before replaying from the start. */
const CANDIDATES = 3;

export type SnapshotData = EventData<'ControllerSnapshotted'>;

export function snapshotEvent(
  experimentId: string,
  strategy: SearchStrategy,
  metadata: EventMetadata,
): ReturnType<typeof controllerSnapshotted> {
  return controllerSnapshotted(
    {
      experimentId,
      policyVersion: strategy.policyVersion,
      paramsDigest: strategy.digest(),
      snapshot: JSON.parse(JSON.stringify(strategy.snapshot())),
    },
    metadata,
  );
}

/** The newest snapshots of an experiment, newest first (a few: each is megabytes). */
export async function newestSnapshots(store: EventStore, experimentId: string): Promise<SnapshotData[]> {
  const { events } = await store.readStream(snapshotStream(experimentId), { direction: 'backwards', maxCount: CANDIDATES });
  return events.flatMap((event) => (event.type === 'ControllerSnapshotted' ? [event.data] : []));
}

export interface StartingPoint {
  strategy: SearchStrategy;
  /** Updates already in `strategy`: the replay goes on from state.updates[from]. */
  from: number;
  /** Why each snapshot tried was not used. */
  ignored: string[];
}

/**
 * Where a rebuild of the controller starts: the newest snapshot that the log vouches for,
 * else the initial state. A snapshot is used only if its version has a PolicyUpdated, its
 * digest is the one that update recorded, it belongs to this experiment's strategy, seed and
 * controller configuration, and the state it restores hashes to that digest again.
 */
export function startingPoint(state: ExperimentState, snapshots: readonly SnapshotData[]): StartingPoint {
  const setup = controllerSetup(state.config);
  // The configuration every strategy keeps (createStrategy builds it the same way), to compare a snapshot's with.
  const expected = { strategy: setup.strategy, seed: state.seed, config: JSON.stringify(controllerConfig(setup.controller)) };
  const ignored: string[] = [];
  for (const snapshot of snapshots) {
    const problem = snapshotProblem(state, snapshot, expected);
    if (typeof problem === 'string') ignored.push(`snapshot v${snapshot.policyVersion} ignored: ${problem}`);
    else return { strategy: problem, from: snapshot.policyVersion, ignored };
  }
  return { strategy: createStrategy(setup.strategy, state.seed, setup.controller), from: 0, ignored };
}

/** The restored strategy, or what is wrong with the snapshot. */
function snapshotProblem(
  state: ExperimentState,
  data: SnapshotData,
  expected: { strategy: string; seed: number; config: string },
): SearchStrategy | string {
  const update = state.updates[data.policyVersion - 1];
  if (!update || update.policyVersion !== data.policyVersion) return `no PolicyUpdated v${data.policyVersion} in the log`;
  if (data.paramsDigest !== update.paramsDigestAfter)
    return `its digest is not the one PolicyUpdated v${data.policyVersion} recorded`;
  const snapshot = data.snapshot as unknown as StrategySnapshot;
  if (snapshot.strategy !== expected.strategy || snapshot.seed !== expected.seed) return 'another strategy or seed';
  if (JSON.stringify(snapshot.config) !== expected.config) return "another controller configuration than the experiment's";
  let strategy: SearchStrategy;
  try {
    strategy = restoreStrategy(snapshot);
  } catch (error) {
    return `it cannot be restored (${(error as Error).message})`;
  }
  if (strategy.policyVersion !== data.policyVersion || strategy.digest() !== data.paramsDigest)
    return 'the state it restores does not hash to its digest';
  return strategy;
}
