import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { RewardSource, SampleStatus } from './read-model-tables.ts';
import { isBetterCell, type BestCellRow, type ReadModelView, type RowPut, type TrialRow } from './read-model-view.ts';
import { completedColumns, touchExperiment, UNTRAINED_COLUMNS } from './shared-changes.ts';

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

/** The rows a trial-stream event writes. */
export function projectTrialEvent(view: ReadModelView, event: TrialEvent): RowPut[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'TrialClaimed':
      return trialClaimed(view, event.data, at);
    case 'TrialReleased':
      return trialReleased(view, event.data, at);
    case 'TrainingProgressed':
      return trainingProgressed(view, event.data, at);
    case 'TrainingCompleted':
      return trainingCompleted(view, event.data, at);
    case 'TrainingFailed':
      return trainingFailed(view, event.data, at);
    case 'RewardReported':
      return rewardReported(view, event.data, at);
  }
}

const SAMPLE_STATUS_FOR_SOURCE: Record<RewardSource, SampleStatus> = {
  trained: 'completed',
  reused: 'reused',
  failure: 'failed',
};

const OPEN: ReadonlySet<string> = new Set(['claimed', 'training']);

interface TrialKey {
  sampleId: string;
  attempt: number;
  experimentId: string;
}

/**
 * A trial event moves its sample's status only while no reward is in (the reward is the
 * sample's last word) and only from the newest attempt: a late event of an attempt that
 * lost its lease must not drag the sample back.
 */
function sampleStatus(view: ReadModelView, { sampleId, attempt }: TrialKey, status: SampleStatus): RowPut[] {
  const sample = view.sample(sampleId);
  if (!sample || sample.status === status || sample.reward_source !== null) return [];
  if (view.trials(sampleId).some((t) => t.attempt > attempt)) return [];
  return [{ table: 'rm_samples', row: { ...sample, status } }];
}

/** The attempt's row with `change` applied, or a new row made of it. */
function putTrial(view: ReadModelView, key: TrialKey, change: (row: TrialRow | undefined) => Partial<TrialRow>): RowPut {
  const row = view.trials(key.sampleId).find((t) => t.attempt === key.attempt);
  const base: TrialRow = row ?? {
    sample_id: key.sampleId,
    attempt: key.attempt,
    experiment_id: key.experimentId,
    worker_id: null,
    plugin: null,
    status: 'claimed',
    lease_deadline: null,
    claimed_at: null,
    ...UNTRAINED_COLUMNS,
  };
  return { table: 'rm_trials', row: { ...base, ...change(row) } };
}

function trialClaimed(view: ReadModelView, d: EventOfType<'TrialClaimed'>['data'], at: string): RowPut[] {
  const claim = {
    worker_id: d.workerId,
    plugin: d.plugin,
    backend: d.backend,
    status: 'claimed',
    lease_deadline: d.leaseDeadline,
    claimed_at: at,
  } as const;
  // A claim on a later attempt takes over from earlier ones still open: their lease ran out.
  const takenOver: RowPut[] = view
    .trials(d.sampleId)
    .filter((t) => t.attempt < d.attempt && OPEN.has(t.status))
    .map((t) => ({ table: 'rm_trials', row: { ...t, status: 'released', finished_at: at } }));
  return [...takenOver, putTrial(view, d, () => claim), ...sampleStatus(view, d, 'claimed')];
}

function trialReleased(view: ReadModelView, d: EventOfType<'TrialReleased'>['data'], at: string): RowPut[] {
  const trial = view.trials(d.sampleId).find((t) => t.attempt === d.attempt);
  const released: RowPut[] =
    trial && OPEN.has(trial.status) ? [{ table: 'rm_trials', row: { ...trial, status: 'released', finished_at: at } }] : [];
  // Back in the queue for another worker.
  return [...released, ...sampleStatus(view, d, 'sampled')];
}

function trainingProgressed(view: ReadModelView, d: EventOfType<'TrainingProgressed'>['data'], at: string): RowPut[] {
  const progress = { last_epoch: d.epoch, epochs: d.epochs };
  const trial = putTrial(view, d, (row) => ({
    status: !row ? 'training' : row.status === 'claimed' ? 'training' : row.status,
    ...progress,
  }));
  return [trial, ...sampleStatus(view, d, 'training'), ...epochMetrics(view, d, at)];
}

/** Epoch 0 is a heartbeat before the first epoch; a later heartbeat's empty metrics never replace measured ones. */
function epochMetrics(view: ReadModelView, d: EventOfType<'TrainingProgressed'>['data'], at: string): RowPut[] {
  if (d.epoch < 1) return [];
  const metrics = JSON.stringify(d.metrics);
  const row = view.trialEpoch(d.sampleId, d.attempt, d.epoch);
  if (row && row.metrics !== '{}') return [];
  const base = row ?? {
    sample_id: d.sampleId,
    attempt: d.attempt,
    epoch: d.epoch,
    experiment_id: d.experimentId,
    epochs: d.epochs,
  };
  return [{ table: 'rm_trial_epochs', row: { ...base, metrics, at } }];
}

function trainingCompleted(view: ReadModelView, d: EventOfType<'TrainingCompleted'>['data'], at: string): RowPut[] {
  const result = completedColumns(d, at);
  return [putTrial(view, d, () => result), ...sampleStatus(view, d, 'completed')];
}

function trainingFailed(view: ReadModelView, d: EventOfType<'TrainingFailed'>['data'], at: string): RowPut[] {
  const failure = { status: 'failed', error: d.reason, retryable: d.retryable ? 1 : 0, finished_at: at } as const;
  // A retryable failure leaves the sample where it was: another attempt follows.
  return [putTrial(view, d, () => failure), ...(d.retryable ? [] : sampleStatus(view, d, 'failed'))];
}

function rewardReported(view: ReadModelView, d: EventOfType<'RewardReported'>['data'], at: string): RowPut[] {
  const source: RewardSource = d.source;
  const sample = view.sample(d.sampleId);
  const puts: RowPut[] = [];
  if (sample) {
    const row = {
      ...sample,
      reward: d.reward,
      reward_source: source,
      reused_from: d.reusedFromSampleId,
      status: SAMPLE_STATUS_FOR_SOURCE[source],
      finished_at: at,
    };
    puts.push({ table: 'rm_samples', row });
  }
  if (source === 'failure') {
    puts.push(...touchExperiment(view, d.experimentId, at, (e) => ({ failed_count: e.failed_count + 1 })));
    return puts;
  }
  // A sample without its ArchitectureSampled has no cell hash to file it under.
  const cell = sample ? bestCell(view, d, sample.cell_hash, sample.idx) : undefined;
  if (cell) puts.push({ table: 'rm_best_cells', row: cell });
  // The experiment's best is the best cell's sample, by the same rule (ties to the lowest index).
  const before = view.topCell(d.experimentId);
  const top = cell && isBetterCell(cell, before) ? cell : before;
  puts.push(
    ...touchExperiment(view, d.experimentId, at, (e) => ({
      completed_count: e.completed_count + 1,
      best_reward: top?.reward ?? null,
      best_sample_id: top?.sample_id ?? null,
    })),
  );
  return puts;
}

/** The sample's cell row if the sample is now the cell's best, else undefined. */
function bestCell(
  view: ReadModelView,
  d: EventOfType<'RewardReported'>['data'],
  cellHash: string,
  idx: number,
): BestCellRow | undefined {
  const candidate = { experiment_id: d.experimentId, cell_hash: cellHash, sample_id: d.sampleId, reward: d.reward, idx };
  return isBetterCell(candidate, view.bestCell(d.experimentId, cellHash)) ? candidate : undefined;
}
