import DataLoader from 'dataloader';
import type { RecordedEvent } from '../core/events/event.ts';
import { trialStream } from '../core/events/streams.ts';
import {
  epochsForTrials,
  populationsAfterUpdates,
  trialKey,
  samplesByIds,
  trialsForSamples,
  type PopulationAfterUpdate,
  type Sample,
  type Trial,
  type TrialEpoch,
} from '../core/projections/queries.ts';
import type { EventStore } from '../core/store/port.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';

/** Which population to read: the one policy update `version` of an evolution experiment left. */
export interface PopulationKey {
  experimentId: string;
  version: number;
  top: number;
  batchSize: number;
  populationSize: number;
}

export interface Loaders {
  /** A sample's trials, every sample of a request in one query. */
  trialsBySample: DataLoader<string, Trial[]>;
  /** Samples by id (null where none), every id of a request in one query. */
  sampleById: DataLoader<string, Sample | null>;
  /** Evolution populations after updates, every update of an experiment in one query. */
  populationAfterUpdate: DataLoader<PopulationKey, PopulationAfterUpdate, string>;
  /** A trial attempt's per-epoch metrics, every attempt of a request in one query. */
  epochsByTrial: DataLoader<Pick<Trial, 'sampleId' | 'attempt'>, TrialEpoch[], string>;
  /** A sample's trial stream from the event store, read once per request however many attempts ask. */
  trialEventsBySample: DataLoader<string, RecordedEvent[]>;
}

/**
 * Per request: a loader caches for the life of its request only, so no answer outlives the
 * read models it was read from.
 */
export function createLoaders(db: SqliteConnection, store: EventStore): Loaders {
  return {
    trialsBySample: new DataLoader<string, Trial[]>(async (ids) => {
      const trials = await trialsForSamples(db, ids);
      return ids.map((id) => trials.get(id) ?? []);
    }),
    sampleById: new DataLoader<string, Sample | null>(async (ids) => {
      const samples = await samplesByIds(db, ids);
      return ids.map((id) => samples.get(id) ?? null);
    }),
    populationAfterUpdate: new DataLoader<PopulationKey, PopulationAfterUpdate, string>(loadPopulations(db), {
      cacheKeyFn: (key) => `${key.experimentId}/${key.version}/${key.top}`,
    }),
    epochsByTrial: new DataLoader<Pick<Trial, 'sampleId' | 'attempt'>, TrialEpoch[], string>(
      async (trials) => {
        const epochs = await epochsForTrials(db, trials);
        return trials.map((trial) => epochs.get(trialKey(trial)) ?? []);
      },
      { cacheKeyFn: trialKey },
    ),
    trialEventsBySample: new DataLoader<string, RecordedEvent[]>((sampleIds) =>
      Promise.all(sampleIds.map(async (sampleId) => (await store.readStream(trialStream(sampleId))).events)),
    ),
  };
}

function loadPopulations(db: SqliteConnection) {
  return async (keys: readonly PopulationKey[]): Promise<PopulationAfterUpdate[]> => {
    const answers = new Array<PopulationAfterUpdate>(keys.length);
    const byExperiment = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const positions = byExperiment.get(key.experimentId);
      if (positions) positions.push(i);
      else byExperiment.set(key.experimentId, [i]);
    });
    for (const positions of byExperiment.values()) {
      const first = keys[positions[0]!]!;
      const populations = await populationsAfterUpdates(
        db,
        first.experimentId,
        first,
        positions.map((i) => keys[i]!),
      );
      positions.forEach((i, k) => (answers[i] = populations[k]!));
    }
    return answers;
  };
}
