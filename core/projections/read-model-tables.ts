import type { JsonObject } from '../events/json.ts';
import type { Genotype } from '../search-space/genotype.ts';
import {
  bigint,
  boolean,
  integer,
  json,
  nullable,
  oneOf,
  real,
  text,
  type Column,
  type Columns,
  type StoredRow,
  type StoredValue,
} from './columns.ts';

/**
 * The read-model tables, column by column: the one place a column is named, with its kind
 * and its field in the domain record. ReadModelColumns, the stored row types and the
 * queries' records and mappers all derive from here. A new column is a new migration plus
 * a line here; test/unit/read-model-tables.test.ts fails when the two disagree.
 */

export const EXPERIMENT_STATUSES = ['created', 'running', 'completed', 'stopped'] as const;
export const SAMPLE_STATUSES = ['sampled', 'claimed', 'training', 'completed', 'failed', 'reused'] as const;
export const TRIAL_STATUSES = ['claimed', 'training', 'completed', 'failed', 'released'] as const;
export const TRANSFER_STATUSES = ['requested', 'training', 'completed', 'failed'] as const;
export const REWARD_SOURCES = ['trained', 'reused', 'failure'] as const;

export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];
export type SampleStatus = (typeof SAMPLE_STATUSES)[number];
export type TrialStatus = (typeof TRIAL_STATUSES)[number];
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];
export type RewardSource = (typeof REWARD_SOURCES)[number];

export interface TableDeclaration<Cs extends Columns = Columns> {
  /** In the migration's order. */
  readonly columns: Cs;
  readonly primaryKey: readonly (keyof Cs & string)[];
}

const table = <Cs extends Columns>(columns: Cs, primaryKey: readonly (keyof Cs & string)[]): TableDeclaration<Cs> => ({
  columns,
  primaryKey,
});

/** The columns a finished training fills, for trials and transfers alike. */
const trainingResult = {
  validation_accuracy: nullable(real('validationAccuracy')),
  test_accuracy: nullable(real('testAccuracy')),
  loss: nullable(real('loss')),
  params: nullable(integer('params')),
  mult_adds: nullable(integer('multAdds')),
  seconds: nullable(real('seconds')),
  images_per_sec: nullable(real('imagesPerSec')),
};

/** Every table the projector fills (migrations/0002_read_models.sql, 0003), in an order that suits dumps and deletes. */
export const READ_MODEL_SCHEMA = {
  rm_experiments: table(
    {
      id: text('id'),
      status: oneOf('status', EXPERIMENT_STATUSES),
      created_at: text('createdAt'),
      config: json<JsonObject>()('config'),
      seed: integer('seed'),
      strategy: nullable(text('strategy')),
      trainer: nullable(text('trainer')),
      dataset: nullable(text('dataset')),
      sample_count: integer('sampleCount'),
      completed_count: integer('completedCount'),
      failed_count: integer('failedCount'),
      best_reward: nullable(real('bestReward')),
      best_sample_id: nullable(text('bestSampleId')),
      policy_version: nullable(integer('policyVersion')),
      updated_at: text('updatedAt'),
    },
    ['id'],
  ),
  rm_samples: table(
    {
      sample_id: text('sampleId'),
      experiment_id: text('experimentId'),
      idx: integer('index'),
      policy_version: integer('policyVersion'),
      cell_hash: text('cellHash'),
      genotype: json<Genotype>()('genotype'),
      actions: json<number[]>()('actions'),
      log_prob: real('logProb'),
      entropy: real('entropy'),
      status: oneOf('status', SAMPLE_STATUSES),
      reward: nullable(real('reward')),
      reward_source: nullable(oneOf('rewardSource', REWARD_SOURCES)),
      reused_from: nullable(text('reusedFrom')),
      sampled_at: text('sampledAt'),
      finished_at: nullable(text('finishedAt')),
    },
    ['sample_id'],
  ),
  rm_trials: table(
    {
      sample_id: text('sampleId'),
      attempt: integer('attempt'),
      experiment_id: text('experimentId'),
      worker_id: nullable(text('workerId')),
      plugin: nullable(text('plugin')),
      backend: nullable(text('backend')),
      status: oneOf('status', TRIAL_STATUSES),
      lease_deadline: nullable(text('leaseDeadline')),
      ...trainingResult,
      error: nullable(text('error')),
      retryable: nullable(boolean('retryable')),
      claimed_at: nullable(text('claimedAt')),
      finished_at: nullable(text('finishedAt')),
      last_epoch: nullable(integer('lastEpoch')),
      epochs: nullable(integer('epochs')),
    },
    ['sample_id', 'attempt'],
  ),
  rm_trial_epochs: table(
    {
      sample_id: text('sampleId'),
      attempt: integer('attempt'),
      epoch: integer('epoch'),
      experiment_id: text('experimentId'),
      epochs: integer('epochs'),
      metrics: json<Record<string, number>>()('metrics'),
      at: text('at'),
    },
    ['sample_id', 'attempt', 'epoch'],
  ),
  rm_policy_updates: table(
    {
      experiment_id: text('experimentId'),
      version: integer('version'),
      sample_ids: json<string[]>()('sampleIds'),
      rewards: json<number[]>()('rewards'),
      mean_reward: real('meanReward'),
      baseline_before: nullable(real('baselineBefore')),
      baseline_after: nullable(real('baselineAfter')),
      // PPO statistics: NULL for strategies without them (queries.ts groups them as `stats`).
      loss: nullable(real('loss')),
      approx_kl: nullable(real('approxKl')),
      clip_fraction: nullable(real('clipFraction')),
      entropy: nullable(real('entropy')),
      epochs: nullable(integer('epochs')),
      params_digest_before: text('paramsDigestBefore'),
      params_digest_after: text('paramsDigestAfter'),
      position: bigint('position'),
      at: text('at'),
    },
    ['experiment_id', 'version'],
  ),
  rm_transfers: table(
    {
      transfer_id: text('transferId'),
      source: text('source'),
      genotype: json<Genotype>()('genotype'),
      n: integer('N'),
      f: integer('F'),
      dataset: text('dataset'),
      config: json<JsonObject>()('config'),
      status: oneOf('status', TRANSFER_STATUSES),
      last_epoch: nullable(integer('lastEpoch')),
      epochs: nullable(integer('epochs')),
      ...trainingResult,
      backend: nullable(text('backend')),
      error: nullable(text('error')),
      retryable: nullable(boolean('retryable')),
      requested_at: text('requestedAt'),
      finished_at: nullable(text('finishedAt')),
    },
    ['transfer_id'],
  ),
  rm_best_cells: table(
    {
      experiment_id: text('experimentId'),
      cell_hash: text('cellHash'),
      sample_id: text('sampleId'),
      reward: real('reward'),
      idx: integer('index'),
    },
    ['experiment_id', 'cell_hash'],
  ),
};

type Schema = typeof READ_MODEL_SCHEMA;

export type ReadModelTable = keyof Schema;

/** The columns of one table, by name. */
export type TableColumns<T extends ReadModelTable> = Schema[T]['columns'];

/** Column names of every read-model table. */
export type ReadModelColumns = { [T in ReadModelTable]: keyof TableColumns<T> & string };

/** One column's declaration. */
export type ColumnOf<T extends ReadModelTable, C extends ReadModelColumns[T]> = TableColumns<T>[C] & Column;

/** What a row of the table holds in column C (NULL included where the column allows it). */
export type StoredColumnValue<T extends ReadModelTable, C extends ReadModelColumns[T]> = StoredValue<ColumnOf<T, C>>;

/** A row of the table as `SELECT *` returns it. */
export type ReadModelRecord<T extends ReadModelTable> = StoredRow<TableColumns<T>>;

/** Every table the projector fills, in an order that suits dumps and deletes. */
export const READ_MODEL_TABLES = Object.keys(READ_MODEL_SCHEMA) as readonly ReadModelTable[];
