import type { EventOfType } from '../events/event.ts';
import type { RowValues, UpdateChange } from './row-change.ts';

/** Changes that events of more than one stream make. */

/** Sets columns of an experiment's row and moves its `updated_at` to the event's time. */
export function touchExperiment(
  experimentId: string,
  at: string,
  set: RowValues<'rm_experiments'>,
): UpdateChange<'rm_experiments'> {
  return { op: 'update', table: 'rm_experiments', key: { id: experimentId }, set: { ...set, updated_at: at } };
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
