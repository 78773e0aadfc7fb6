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
