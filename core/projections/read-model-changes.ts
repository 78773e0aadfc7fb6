import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { JsonValue } from '../events/json.ts';

/**
 * The read models' "evolve": what one event changes in the rm_ tables, as plain data.
 * No I/O here, so the rules can be tested without a database and the projector stays a
 * loop that runs these changes in a transaction.
 *
 * A change that depends on the row as it stands (a counter, "the best so far", "only if
 * no later attempt exists") carries a SQL expression that SQLite evaluates when the change
 * is applied, instead of a value computed here from a row read earlier. Applying the log
 * in order then gives the same rows however the events were batched.
 */

export type SqlScalar = string | number | null;

/**
 * SQL evaluated when the change is applied. Unqualified column names are the changed
 * row's current values; in an upsert's `onConflict`, `excluded.<column>` is the row the
 * insert proposed. `params` fill the expression's `?` placeholders, in order.
 */
export interface SqlExpression {
  readonly sql: string;
  readonly params: readonly SqlScalar[];
}

export type ColumnValue = SqlScalar | SqlExpression;

/** Column names of every read-model table (migrations/0002_read_models.sql). */
export interface ReadModelColumns {
  rm_experiments:
    | 'id'
    | 'status'
    | 'created_at'
    | 'config'
    | 'seed'
    | 'strategy'
    | 'trainer'
    | 'dataset'
    | 'sample_count'
    | 'completed_count'
    | 'failed_count'
    | 'best_reward'
    | 'best_sample_id'
    | 'policy_version'
    | 'updated_at';
  rm_samples:
    | 'sample_id'
    | 'experiment_id'
    | 'idx'
    | 'policy_version'
    | 'cell_hash'
    | 'genotype'
    | 'actions'
    | 'log_prob'
    | 'entropy'
    | 'status'
    | 'reward'
    | 'reward_source'
    | 'reused_from'
    | 'sampled_at'
    | 'finished_at';
  rm_trials:
    | 'sample_id'
    | 'attempt'
    | 'experiment_id'
    | 'worker_id'
    | 'plugin'
    | 'backend'
    | 'status'
    | 'lease_deadline'
    | 'validation_accuracy'
    | 'test_accuracy'
    | 'loss'
    | 'params'
    | 'mult_adds'
    | 'seconds'
    | 'images_per_sec'
    | 'error'
    | 'retryable'
    | 'claimed_at'
    | 'finished_at'
    | 'last_epoch'
    | 'epochs';
  rm_policy_updates:
    | 'experiment_id'
    | 'version'
    | 'sample_ids'
    | 'rewards'
    | 'mean_reward'
    | 'baseline_before'
    | 'baseline_after'
    | 'loss'
    | 'approx_kl'
    | 'clip_fraction'
    | 'entropy'
    | 'epochs'
    | 'params_digest_before'
    | 'params_digest_after'
    | 'position'
    | 'at';
  rm_transfers:
    | 'transfer_id'
    | 'source'
    | 'genotype'
    | 'n'
    | 'f'
    | 'dataset'
    | 'config'
    | 'status'
    | 'last_epoch'
    | 'epochs'
    | 'validation_accuracy'
    | 'test_accuracy'
    | 'loss'
    | 'params'
    | 'mult_adds'
    | 'seconds'
    | 'images_per_sec'
    | 'backend'
    | 'error'
    | 'retryable'
    | 'requested_at'
    | 'finished_at';
  rm_best_cells: 'experiment_id' | 'cell_hash' | 'sample_id' | 'reward' | 'idx';
}

export type ReadModelTable = keyof ReadModelColumns;

/** Every table the projector fills, in an order that suits dumps and deletes. */
export const READ_MODEL_TABLES: readonly ReadModelTable[] = [
  'rm_experiments',
  'rm_samples',
  'rm_trials',
  'rm_policy_updates',
  'rm_transfers',
  'rm_best_cells',
];

export type RowValues<T extends ReadModelTable> = { readonly [C in ReadModelColumns[T]]?: ColumnValue };
export type RowKey<T extends ReadModelTable> = { readonly [C in ReadModelColumns[T]]?: SqlScalar };

/** Inserts a row; when its key (or another unique index) is already taken, nothing changes. */
export interface InsertChange<T extends ReadModelTable> {
  readonly op: 'insert';
  readonly table: T;
  readonly row: RowValues<T>;
}

/**
 * Inserts `row`, or — when a row with the same `conflictKey` exists — sets `onConflict` on
 * it, only where `onConflictWhere` holds. With `insertWhere`, nothing happens at all
 * unless that condition holds (e.g. a row the new one is derived from exists).
 */
export interface UpsertChange<T extends ReadModelTable> {
  readonly op: 'upsert';
  readonly table: T;
  readonly conflictKey: readonly ReadModelColumns[T][];
  readonly row: RowValues<T>;
  readonly onConflict: RowValues<T>;
  readonly onConflictWhere?: SqlExpression;
  readonly insertWhere?: SqlExpression;
}

/** Sets columns of the rows whose columns equal `key`, only where `where` holds; no row, no change. */
export interface UpdateChange<T extends ReadModelTable> {
  readonly op: 'update';
  readonly table: T;
  readonly key: RowKey<T>;
  readonly set: RowValues<T>;
  readonly where?: SqlExpression;
}

export type RowChange = {
  [T in ReadModelTable]: InsertChange<T> | UpsertChange<T> | UpdateChange<T>;
}[ReadModelTable];

export type ExperimentStatus = 'created' | 'running' | 'completed' | 'stopped';
export type SampleStatus = 'sampled' | 'claimed' | 'training' | 'completed' | 'failed' | 'reused';
export type TrialStatus = 'claimed' | 'training' | 'completed' | 'failed' | 'released';
export type TransferStatus = 'requested' | 'training' | 'completed' | 'failed';
export type RewardSource = 'trained' | 'reused' | 'failure';

export function sql(text: string, ...params: SqlScalar[]): SqlExpression {
  return { sql: text, params };
}

export function isSqlExpression(value: ColumnValue | undefined): value is SqlExpression {
  return typeof value === 'object' && value !== null;
}

const SAMPLE_STATUS_FOR_SOURCE: Record<RewardSource, SampleStatus> = {
  trained: 'completed',
  reused: 'reused',
  failure: 'failed',
};

/**
 * A trial event moves its sample's status only while no reward is in (the reward is the
 * sample's last word) and only from the newest attempt: a late event of an attempt that
 * lost its lease must not drag the sample back.
 */
function sampleFollowsTrial(sampleIdValue: string, attempt: number): SqlExpression {
  return sql(
    'reward_source IS NULL AND NOT EXISTS (SELECT 1 FROM rm_trials t WHERE t.sample_id = ? AND t.attempt > ?)',
    sampleIdValue,
    attempt,
  );
}

function sampleStatus(sampleIdValue: string, attempt: number, status: SampleStatus): UpdateChange<'rm_samples'> {
  return {
    op: 'update',
    table: 'rm_samples',
    key: { sample_id: sampleIdValue },
    set: { status },
    where: sampleFollowsTrial(sampleIdValue, attempt),
  };
}

function touchExperiment(experimentId: string, at: string, set: RowValues<'rm_experiments'>): UpdateChange<'rm_experiments'> {
  return { op: 'update', table: 'rm_experiments', key: { id: experimentId }, set: { ...set, updated_at: at } };
}

function stringOrNull(value: JsonValue | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

/** The rows one event changes, in the order they must be applied. Unknown types change nothing. */
export function projectEvent(event: RecordedEvent): RowChange[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'ExperimentCreated': {
      const { experimentId, config, seed } = event.data;
      return [
        {
          op: 'insert',
          table: 'rm_experiments',
          row: {
            id: experimentId,
            status: 'created',
            created_at: at,
            config: JSON.stringify(config),
            seed,
            strategy: stringOrNull(config.strategy),
            trainer: stringOrNull(config.trainer),
            dataset: stringOrNull(config.dataset),
            sample_count: 0,
            completed_count: 0,
            failed_count: 0,
            best_reward: null,
            best_sample_id: null,
            policy_version: null,
            updated_at: at,
          },
        },
      ];
    }
    case 'ControllerInitialized': {
      const { experimentId, strategy } = event.data;
      return [
        touchExperiment(experimentId, at, {
          status: sql("CASE WHEN status = 'created' THEN 'running' ELSE status END"),
          strategy,
          policy_version: sql('coalesce(policy_version, 0)'),
        }),
      ];
    }
    case 'ArchitectureSampled': {
      const d = event.data;
      return [
        {
          op: 'insert',
          table: 'rm_samples',
          row: {
            sample_id: d.sampleId,
            experiment_id: d.experimentId,
            idx: d.index,
            policy_version: d.policyVersion,
            cell_hash: d.cellHash,
            genotype: JSON.stringify(d.genotype),
            actions: JSON.stringify(d.actions),
            log_prob: d.logProb,
            entropy: d.entropy,
            status: 'sampled',
            reward: null,
            reward_source: null,
            reused_from: null,
            sampled_at: at,
            finished_at: null,
          },
        },
        touchExperiment(d.experimentId, at, { sample_count: sql('sample_count + 1') }),
      ];
    }
    case 'PolicyUpdated': {
      const d = event.data;
      return [
        {
          op: 'insert',
          table: 'rm_policy_updates',
          row: {
            experiment_id: d.experimentId,
            version: d.policyVersion,
            sample_ids: JSON.stringify(d.samples.map((s) => s.sampleId)),
            rewards: JSON.stringify(d.samples.map((s) => s.reward)),
            mean_reward: d.meanReward,
            baseline_before: d.baselineBefore,
            baseline_after: d.baselineAfter,
            loss: d.stats?.loss ?? null,
            approx_kl: d.stats?.approxKl ?? null,
            clip_fraction: d.stats?.clipFraction ?? null,
            entropy: d.stats?.entropy ?? null,
            epochs: d.stats?.epochs ?? null,
            params_digest_before: d.paramsDigestBefore,
            params_digest_after: d.paramsDigestAfter,
            position: event.position.toString(),
            at,
          },
        },
        touchExperiment(d.experimentId, at, { policy_version: sql('max(coalesce(policy_version, 0), ?)', d.policyVersion) }),
      ];
    }
    case 'ExperimentCompleted':
      return [touchExperiment(event.data.experimentId, at, { status: 'completed' })];
    case 'ExperimentStopped':
      return [touchExperiment(event.data.experimentId, at, { status: 'stopped' })];

    case 'TrialClaimed': {
      const d = event.data;
      const claim = {
        worker_id: d.workerId,
        plugin: d.plugin,
        backend: d.backend,
        status: 'claimed',
        lease_deadline: d.leaseDeadline,
        claimed_at: at,
      } as const;
      const changes: RowChange[] = [];
      if (d.attempt > 1) {
        // A claim on a later attempt takes over from earlier ones still open: their lease ran out.
        changes.push({
          op: 'update',
          table: 'rm_trials',
          key: { sample_id: d.sampleId },
          set: { status: 'released', finished_at: at },
          where: sql("attempt < ? AND status IN ('claimed', 'training')", d.attempt),
        });
      }
      changes.push(
        {
          op: 'upsert',
          table: 'rm_trials',
          conflictKey: ['sample_id', 'attempt'],
          row: { sample_id: d.sampleId, attempt: d.attempt, experiment_id: d.experimentId, ...claim },
          onConflict: claim,
        },
        sampleStatus(d.sampleId, d.attempt, 'claimed'),
      );
      return changes;
    }
    case 'TrialReleased': {
      const d = event.data;
      return [
        {
          op: 'update',
          table: 'rm_trials',
          key: { sample_id: d.sampleId, attempt: d.attempt },
          set: { status: 'released', finished_at: at },
          where: sql("status IN ('claimed', 'training')"),
        },
        // Back in the queue for another worker.
        sampleStatus(d.sampleId, d.attempt, 'sampled'),
      ];
    }
    case 'TrainingProgressed': {
      const d = event.data;
      const progress = { last_epoch: d.epoch, epochs: d.epochs } as const;
      return [
        {
          op: 'upsert',
          table: 'rm_trials',
          conflictKey: ['sample_id', 'attempt'],
          row: { sample_id: d.sampleId, attempt: d.attempt, experiment_id: d.experimentId, status: 'training', ...progress },
          onConflict: { status: sql("CASE WHEN status = 'claimed' THEN 'training' ELSE status END"), ...progress },
        },
        sampleStatus(d.sampleId, d.attempt, 'training'),
      ];
    }
    case 'TrainingCompleted': {
      const d = event.data;
      const result = completedColumns(d, at);
      return [
        {
          op: 'upsert',
          table: 'rm_trials',
          conflictKey: ['sample_id', 'attempt'],
          row: { sample_id: d.sampleId, attempt: d.attempt, experiment_id: d.experimentId, ...result },
          onConflict: result,
        },
        sampleStatus(d.sampleId, d.attempt, 'completed'),
      ];
    }
    case 'TrainingFailed': {
      const d = event.data;
      const failure = { status: 'failed', error: d.reason, retryable: d.retryable ? 1 : 0, finished_at: at } as const;
      const changes: RowChange[] = [
        {
          op: 'upsert',
          table: 'rm_trials',
          conflictKey: ['sample_id', 'attempt'],
          row: { sample_id: d.sampleId, attempt: d.attempt, experiment_id: d.experimentId, ...failure },
          onConflict: failure,
        },
      ];
      // A retryable failure leaves the sample where it was: another attempt follows.
      if (!d.retryable) changes.push(sampleStatus(d.sampleId, d.attempt, 'failed'));
      return changes;
    }
    case 'RewardReported': {
      const d = event.data;
      const source: RewardSource = d.source;
      const changes: RowChange[] = [
        {
          op: 'update',
          table: 'rm_samples',
          key: { sample_id: d.sampleId },
          set: {
            reward: d.reward,
            reward_source: source,
            reused_from: d.reusedFromSampleId,
            status: SAMPLE_STATUS_FOR_SOURCE[source],
            finished_at: at,
          },
        },
      ];
      if (source === 'failure') {
        changes.push(touchExperiment(d.experimentId, at, { failed_count: sql('failed_count + 1') }));
        return changes;
      }
      const ofSample = (column: 'cell_hash' | 'idx') => sql(`(SELECT ${column} FROM rm_samples WHERE sample_id = ?)`, d.sampleId);
      changes.push(
        {
          op: 'upsert',
          table: 'rm_best_cells',
          conflictKey: ['experiment_id', 'cell_hash'],
          row: {
            experiment_id: d.experimentId,
            cell_hash: ofSample('cell_hash'),
            sample_id: d.sampleId,
            reward: d.reward,
            idx: ofSample('idx'),
          },
          onConflict: { sample_id: sql('excluded.sample_id'), reward: sql('excluded.reward'), idx: sql('excluded.idx') },
          onConflictWhere: sql('excluded.reward > reward OR (excluded.reward = reward AND excluded.idx < idx)'),
          // Without its ArchitectureSampled the sample has no cell hash to file it under.
          insertWhere: sql('EXISTS (SELECT 1 FROM rm_samples WHERE sample_id = ?)', d.sampleId),
        },
        // The experiment's best is the best cell's sample, by the same rule (ties to the lowest index).
        touchExperiment(d.experimentId, at, {
          completed_count: sql('completed_count + 1'),
          best_reward: sql(
            '(SELECT b.reward FROM rm_best_cells b WHERE b.experiment_id = ? ORDER BY b.reward DESC, b.idx LIMIT 1)',
            d.experimentId,
          ),
          best_sample_id: sql(
            '(SELECT b.sample_id FROM rm_best_cells b WHERE b.experiment_id = ? ORDER BY b.reward DESC, b.idx LIMIT 1)',
            d.experimentId,
          ),
        }),
      );
      return changes;
    }

    case 'TransferRequested': {
      const d = event.data;
      return [
        {
          op: 'insert',
          table: 'rm_transfers',
          row: {
            transfer_id: d.transferId,
            source: d.source,
            genotype: JSON.stringify(d.genotype),
            n: d.N,
            f: d.F,
            dataset: d.dataset,
            config: JSON.stringify(d.config),
            status: 'requested',
            requested_at: at,
          },
        },
      ];
    }
    case 'TransferProgressed': {
      const d = event.data;
      return [
        {
          op: 'update',
          table: 'rm_transfers',
          key: { transfer_id: d.transferId },
          set: {
            status: sql("CASE WHEN status = 'requested' THEN 'training' ELSE status END"),
            last_epoch: d.epoch,
            epochs: d.epochs,
          },
        },
      ];
    }
    case 'TransferCompleted': {
      const d = event.data;
      return [
        {
          op: 'update',
          table: 'rm_transfers',
          key: { transfer_id: d.transferId },
          set: completedColumns(d, at),
        },
      ];
    }
    case 'TransferFailed': {
      const d = event.data;
      return [
        {
          op: 'update',
          table: 'rm_transfers',
          key: { transfer_id: d.transferId },
          set: { status: 'failed', error: d.reason, retryable: d.retryable ? 1 : 0, finished_at: at },
        },
      ];
    }
    default:
      return projectLaterType(event);
  }
}

/**
 * Types the catalogue may not name yet in this build; matched on the type string so this
 * file compiles with and without them.
 */
function projectLaterType(event: RecordedEvent): RowChange[] {
  const { type, data } = event as { type: string; data: { experimentId?: unknown } };
  if (type === 'ExperimentResumed' && typeof data.experimentId === 'string') {
    return [touchExperiment(data.experimentId, event.metadata.timestamp, { status: 'running' })];
  }
  return [];
}

/** The columns a finished training fills, for trials and transfers alike (their events share these fields). */
function completedColumns(d: EventOfType<'TrainingCompleted'>['data'] | EventOfType<'TransferCompleted'>['data'], at: string) {
  return {
    status: 'completed',
    backend: d.backend,
    validation_accuracy: d.validationAccuracy,
    test_accuracy: d.testAccuracy,
    loss: d.loss,
    params: d.params,
    mult_adds: d.multAdds,
    seconds: d.seconds,
    images_per_sec: d.imagesPerSec,
    finished_at: at,
  } as const;
}
