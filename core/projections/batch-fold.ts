import type { RecordedEvent } from '../events/event.ts';
import { ProjectionError } from './projection-error.ts';
import { projectEvent } from './read-model-changes.ts';
import type { ReadModelRecord, ReadModelTable } from './read-model-tables.ts';
import {
  isBetterCell,
  type BestCellRow,
  type ExperimentRow,
  type PolicyUpdateRow,
  type ReadModelView,
  type RowPut,
  type SampleRow,
  type TransferRow,
  type TrialEpochRow,
  type TrialRow,
} from './read-model-view.ts';

/**
 * A batch of events folded in memory: each event's projection reads the rows as the events
 * before it left them, and each row the batch changes comes out once, in its final state,
 * beside the row it replaces. Rows the batch has not written come from a RowSource (the
 * projector's cache of rows, filled from the database); a row the source does not know is
 * a miss, and the fold is run again once the misses are loaded (see sqlite-projector.ts).
 */

/** What a projection can ask for: the ReadModelView's questions, as data. */
export type Lookup =
  | { readonly kind: 'experiment'; readonly id: string }
  | { readonly kind: 'sample'; readonly sampleId: string }
  | { readonly kind: 'trials'; readonly sampleId: string }
  | { readonly kind: 'epoch'; readonly sampleId: string; readonly attempt: number; readonly epoch: number }
  | { readonly kind: 'policyUpdate'; readonly experimentId: string; readonly version: number }
  | { readonly kind: 'transfer'; readonly transferId: string }
  | { readonly kind: 'cell'; readonly experimentId: string; readonly cellHash: string }
  | { readonly kind: 'topCell'; readonly experimentId: string };

/** The answer to a lookup: a row or null (none), or for `trials` every attempt's row. */
export type Entry = ReadModelRecord<ReadModelTable> | null | readonly TrialRow[];

/** Rows as they stand before the batch; `undefined` when not known here (a miss). */
export type RowSource = (key: string) => Entry | undefined;

/** A row the batch changed: its final state, and the row it replaces (null: a new row). */
export interface RowWrite {
  readonly put: RowPut;
  readonly before: ReadModelRecord<ReadModelTable> | null;
}

export interface FoldResult {
  /** One per changed row, in the order each was first written, by the row's writeKey. */
  readonly writes: ReadonlyMap<string, RowWrite>;
  /** Every lookup the batch changed, as it stands after the batch. */
  readonly entries: ReadonlyMap<string, Entry>;
  /** Lookups the source did not know: load them and fold again. The writes are void if any. */
  readonly misses: ReadonlyMap<string, Lookup>;
}

/** One string per lookup, for maps; the letter before the first NUL is the lookup's kind. */
const keyOf = {
  experiment: (id: string) => `e\u0000${id}`,
  sample: (sampleId: string) => `s\u0000${sampleId}`,
  trials: (sampleId: string) => `t\u0000${sampleId}`,
  epoch: (sampleId: string, attempt: number, epoch: number) => `p\u0000${sampleId}\u0000${attempt}\u0000${epoch}`,
  policyUpdate: (experimentId: string, version: number) => `u\u0000${experimentId}\u0000${version}`,
  transfer: (transferId: string) => `x\u0000${transferId}`,
  cell: (experimentId: string, cellHash: string) => `c\u0000${experimentId}\u0000${cellHash}`,
  topCell: (experimentId: string) => `b\u0000${experimentId}`,
};

export function lookupKey(lookup: Lookup): string {
  switch (lookup.kind) {
    case 'experiment':
      return keyOf.experiment(lookup.id);
    case 'sample':
      return keyOf.sample(lookup.sampleId);
    case 'trials':
      return keyOf.trials(lookup.sampleId);
    case 'epoch':
      return keyOf.epoch(lookup.sampleId, lookup.attempt, lookup.epoch);
    case 'policyUpdate':
      return keyOf.policyUpdate(lookup.experimentId, lookup.version);
    case 'transfer':
      return keyOf.transfer(lookup.transferId);
    case 'cell':
      return keyOf.cell(lookup.experimentId, lookup.cellHash);
    case 'topCell':
      return keyOf.topCell(lookup.experimentId);
  }
}

export function isAbsent(entry: Entry): boolean {
  return entry === null || (Array.isArray(entry) && entry.length === 0);
}

/** The answer to a lookup, by its key, when the database has no such row. */
export function absentEntry(key: string): Entry {
  return key.startsWith(keyOf.trials('')) ? [] : null;
}

/** The lookup whose answer holds the row (for rm_trials: the list of the sample's attempts). */
function lookupOfRow(put: RowPut): Lookup {
  switch (put.table) {
    case 'rm_experiments':
      return { kind: 'experiment', id: put.row.id };
    case 'rm_samples':
      return { kind: 'sample', sampleId: put.row.sample_id };
    case 'rm_trials':
      return { kind: 'trials', sampleId: put.row.sample_id };
    case 'rm_trial_epochs':
      return { kind: 'epoch', sampleId: put.row.sample_id, attempt: put.row.attempt, epoch: put.row.epoch };
    case 'rm_policy_updates':
      return { kind: 'policyUpdate', experimentId: put.row.experiment_id, version: put.row.version };
    case 'rm_transfers':
      return { kind: 'transfer', transferId: put.row.transfer_id };
    case 'rm_best_cells':
      return { kind: 'cell', experimentId: put.row.experiment_id, cellHash: put.row.cell_hash };
  }
}

/** Folds the events over the source; see FoldResult. A projection that throws stops the fold with a ProjectionError. */
export function foldEvents(events: readonly RecordedEvent[], source: RowSource): FoldResult {
  const state = new FoldState(source);
  for (const event of events) {
    let puts: RowPut[];
    try {
      puts = projectEvent(state, event);
    } catch (error) {
      throw new ProjectionError(event.position, event.type, error);
    }
    for (const put of puts) state.put(put);
  }
  return { writes: state.writes, entries: state.overlay, misses: state.misses };
}

/** Where the fold keeps a row the batch wrote: its lookup's key, and for a trial its attempt. */
function writeKey(put: RowPut, key: string): string {
  return put.table === 'rm_trials' ? `${key}\u0000${put.row.attempt}` : key;
}

class FoldState implements ReadModelView {
  readonly overlay = new Map<string, Entry>();
  readonly misses = new Map<string, Lookup>();
  readonly writes = new Map<string, RowWrite>();

  constructor(private readonly source: RowSource) {}

  experiment(id: string): ExperimentRow | undefined {
    return this.row(keyOf.experiment(id), () => ({ kind: 'experiment', id })) as ExperimentRow | undefined;
  }
  sample(sampleId: string): SampleRow | undefined {
    return this.row(keyOf.sample(sampleId), () => ({ kind: 'sample', sampleId })) as SampleRow | undefined;
  }
  trials(sampleId: string): readonly TrialRow[] {
    return (this.read(keyOf.trials(sampleId), () => ({ kind: 'trials', sampleId })) as readonly TrialRow[] | undefined) ?? [];
  }
  trialEpoch(sampleId: string, attempt: number, epoch: number): TrialEpochRow | undefined {
    const key = keyOf.epoch(sampleId, attempt, epoch);
    return this.row(key, () => ({ kind: 'epoch', sampleId, attempt, epoch })) as TrialEpochRow | undefined;
  }
  policyUpdate(experimentId: string, version: number): PolicyUpdateRow | undefined {
    const key = keyOf.policyUpdate(experimentId, version);
    return this.row(key, () => ({ kind: 'policyUpdate', experimentId, version })) as PolicyUpdateRow | undefined;
  }
  transfer(transferId: string): TransferRow | undefined {
    return this.row(keyOf.transfer(transferId), () => ({ kind: 'transfer', transferId })) as TransferRow | undefined;
  }
  bestCell(experimentId: string, cellHash: string): BestCellRow | undefined {
    const key = keyOf.cell(experimentId, cellHash);
    return this.row(key, () => ({ kind: 'cell', experimentId, cellHash })) as BestCellRow | undefined;
  }
  topCell(experimentId: string): BestCellRow | undefined {
    return this.row(keyOf.topCell(experimentId), () => ({ kind: 'topCell', experimentId })) as BestCellRow | undefined;
  }

  put(put: RowPut): void {
    const lookup = lookupOfRow(put);
    const key = lookupKey(lookup);
    const id = writeKey(put, key);
    const earlier = this.writes.get(id);
    this.writes.set(id, { put, before: earlier ? earlier.before : this.before(put, key, lookup) });
    if (put.table === 'rm_trials') {
      const others = this.trials(put.row.sample_id).filter((t) => t.attempt !== put.row.attempt);
      this.overlay.set(
        key,
        [...others, put.row].sort((a, b) => a.attempt - b.attempt),
      );
      return;
    }
    this.overlay.set(key, put.row);
    if (put.table === 'rm_best_cells' && isBetterCell(put.row, this.topCell(put.row.experiment_id)))
      this.overlay.set(keyOf.topCell(put.row.experiment_id), put.row);
  }

  /** The row as the source has it, before the batch. */
  private before(put: RowPut, key: string, lookup: Lookup): ReadModelRecord<ReadModelTable> | null {
    const entry = this.source(key);
    if (entry === undefined) this.misses.set(key, lookup);
    if (put.table !== 'rm_trials') return (entry ?? null) as ReadModelRecord<ReadModelTable> | null;
    return (entry as readonly TrialRow[] | undefined)?.find((t) => t.attempt === put.row.attempt) ?? null;
  }

  private row(key: string, lookup: () => Lookup): ReadModelRecord<ReadModelTable> | undefined {
    return (this.read(key, lookup) as ReadModelRecord<ReadModelTable> | null | undefined) ?? undefined;
  }

  /** Entries are never undefined (null: no row), so one map read tells the overlay's answer. */
  private read(key: string, lookup: () => Lookup): Entry | undefined {
    const written = this.overlay.get(key);
    if (written !== undefined) return written;
    const entry = this.source(key);
    if (entry === undefined) this.misses.set(key, lookup());
    return entry;
  }
}
