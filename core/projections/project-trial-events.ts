import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { RewardSource, SampleStatus } from './read-model-tables.ts';
import { sql, type RowChange, type SqlExpression, type UpdateChange } from './row-change.ts';
import { completedColumns, touchExperiment } from './shared-changes.ts';

/** The types written to trial-<sampleId> streams. */
export const TRIAL_EVENT_TYPES = [
  'TrialClaimed',
  'TrialReleased',
  'TrainingProgressed',
  'TrainingCompleted',
  'TrainingFailed',
  'RewardReported',
] as const;

export type TrialEvent = RecordedEvent<EventOfType<(typeof TRIAL_EVENT_TYPES)[number]>>;

/** The rows a trial-stream event changes, in the order they must be applied. */
export function projectTrialEvent(event: TrialEvent): RowChange[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'TrialClaimed':
      return trialClaimed(event.data, at);
    case 'TrialReleased':
      return trialReleased(event.data, at);
    case 'TrainingProgressed':
      return trainingProgressed(event.data, at);
    case 'TrainingCompleted':
      return trainingCompleted(event.data, at);
    case 'TrainingFailed':
      return trainingFailed(event.data, at);
    case 'RewardReported':
      return rewardReported(event.data, at);
  }
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

/** Every epoch's progress repeats `training`: a row already there is left unwritten (a 1 KB row and an index entry). */
function sampleStatus(sampleIdValue: string, attempt: number, status: SampleStatus): UpdateChange<'rm_samples'> {
  const follows = sampleFollowsTrial(sampleIdValue, attempt);
  return {
    op: 'update',
    table: 'rm_samples',
    key: { sample_id: sampleIdValue },
    set: { status },
    where: sql(`status <> ? AND ${follows.sql}`, status, ...follows.params),
  };
}

function trialClaimed(d: EventOfType<'TrialClaimed'>['data'], at: string): RowChange[] {
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

function trialReleased(d: EventOfType<'TrialReleased'>['data'], at: string): RowChange[] {
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

function trainingProgressed(d: EventOfType<'TrainingProgressed'>['data'], at: string): RowChange[] {
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
    ...epochMetrics(d, at),
  ];
}

/** Epoch 0 is a heartbeat before the first epoch; a later heartbeat's empty metrics never replace measured ones. */
function epochMetrics(d: EventOfType<'TrainingProgressed'>['data'], at: string): RowChange[] {
  if (d.epoch < 1) return [];
  const metrics = JSON.stringify(d.metrics);
  return [
    {
      op: 'upsert',
      table: 'rm_trial_epochs',
      conflictKey: ['sample_id', 'attempt', 'epoch'],
      row: {
        sample_id: d.sampleId,
        attempt: d.attempt,
        epoch: d.epoch,
        experiment_id: d.experimentId,
        epochs: d.epochs,
        metrics,
        at,
      },
      onConflict: { metrics, at },
      onConflictWhere: sql("metrics = '{}'"),
    },
  ];
}

function trainingCompleted(d: EventOfType<'TrainingCompleted'>['data'], at: string): RowChange[] {
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

function trainingFailed(d: EventOfType<'TrainingFailed'>['data'], at: string): RowChange[] {
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

function rewardReported(d: EventOfType<'RewardReported'>['data'], at: string): RowChange[] {
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
