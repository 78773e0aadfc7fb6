import DataLoader from 'dataloader';
import { samplesByIds, trialsForSamples, type Sample, type Trial } from '../core/projections/queries.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';

export interface Loaders {
  /** A sample's trials, every sample of a request in one query. */
  trialsBySample: DataLoader<string, Trial[]>;
  /** Samples by id (null where none), every id of a request in one query. */
  sampleById: DataLoader<string, Sample | null>;
}

/**
 * Per request: a loader caches for the life of its request only, so no answer outlives the
 * read models it was read from.
 */
export function createLoaders(db: SqliteConnection): Loaders {
  return {
    trialsBySample: new DataLoader<string, Trial[]>(async (ids) => {
      const trials = await trialsForSamples(db, ids);
      return ids.map((id) => trials.get(id) ?? []);
    }),
    sampleById: new DataLoader<string, Sample | null>(async (ids) => {
      const samples = await samplesByIds(db, ids);
      return ids.map((id) => samples.get(id) ?? null);
    }),
  };
}
