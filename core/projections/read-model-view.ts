import type { ReadModelRecord, ReadModelTable } from './read-model-tables.ts';

/**
 * The vocabulary of the read models' "evolve" (read-model-changes.ts): an event's projection
 * reads the rows it depends on through a ReadModelView, as they stand just before the event,
 * and returns the rows it writes, whole. Everything is plain data, so the rules are pure
 * functions and the projector folds a batch of events in memory (batch-fold.ts) before it
 * writes each changed row once.
 */

export type ExperimentRow = ReadModelRecord<'rm_experiments'>;
export type SampleRow = ReadModelRecord<'rm_samples'>;
export type TrialRow = ReadModelRecord<'rm_trials'>;
export type TrialEpochRow = ReadModelRecord<'rm_trial_epochs'>;
export type PolicyUpdateRow = ReadModelRecord<'rm_policy_updates'>;
export type TransferRow = ReadModelRecord<'rm_transfers'>;
export type BestCellRow = ReadModelRecord<'rm_best_cells'>;

/** The rows a projection may read. `undefined`: no such row. */
export interface ReadModelView {
  experiment(id: string): ExperimentRow | undefined;
  sample(sampleId: string): SampleRow | undefined;
  /** Every attempt of the sample, by attempt. */
  trials(sampleId: string): readonly TrialRow[];
  trialEpoch(sampleId: string, attempt: number, epoch: number): TrialEpochRow | undefined;
  policyUpdate(experimentId: string, version: number): PolicyUpdateRow | undefined;
  transfer(transferId: string): TransferRow | undefined;
  bestCell(experimentId: string, cellHash: string): BestCellRow | undefined;
  /** The experiment's best cell: the highest reward, ties to the lowest index. */
  topCell(experimentId: string): BestCellRow | undefined;
}

/** A row written whole: inserted, or replacing the row with its primary key. */
export type RowPut = { [T in ReadModelTable]: { readonly table: T; readonly row: ReadModelRecord<T> } }[ReadModelTable];

/** The order of best cells: a higher reward first, then the lower index. */
export function isBetterCell(candidate: BestCellRow, than: BestCellRow | undefined): boolean {
  if (!than) return true;
  return candidate.reward > than.reward || (candidate.reward === than.reward && candidate.idx < than.idx);
}
