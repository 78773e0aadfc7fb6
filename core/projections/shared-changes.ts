import type { EventOfType } from '../events/event.ts';
import type { ExperimentRow, ReadModelView, RowPut } from './read-model-view.ts';

/** Changes that events of more than one stream make. */

/** Changes an experiment's row (when it has one) and moves its `updated_at` to the event's time. */
export function touchExperiment(
  view: ReadModelView,
  experimentId: string,
  at: string,
  change: (row: ExperimentRow) => Partial<ExperimentRow>,
): RowPut[] {
  const row = view.experiment(experimentId);
  return row ? [{ table: 'rm_experiments', row: { ...row, ...change(row), updated_at: at } }] : [];
}

/** The columns of a trial's or a transfer's row that stay NULL until its training's events fill them. */
export const UNTRAINED_COLUMNS = {
  backend: null,
  validation_accuracy: null,
  test_accuracy: null,
  loss: null,
  params: null,
  mult_adds: null,
  seconds: null,
  images_per_sec: null,
  error: null,
  retryable: null,
  finished_at: null,
  last_epoch: null,
  epochs: null,
} as const;

/** The columns a finished training fills, for trials and transfers alike (their events share these fields). */
export function completedColumns(
  d: EventOfType<'TrainingCompleted'>['data'] | EventOfType<'TransferCompleted'>['data'],
  at: string,
) {
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
