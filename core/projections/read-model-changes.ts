import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { EventType } from '../events/catalogue.ts';
import { EXPERIMENT_EVENT_TYPES, projectExperimentEvent } from './project-experiment-events.ts';
import { TRANSFER_EVENT_TYPES, projectTransferEvent } from './project-transfer-events.ts';
import { TRIAL_EVENT_TYPES, projectTrialEvent } from './project-trial-events.ts';
import type { ReadModelView, RowPut } from './read-model-view.ts';

/**
 * The read models' "evolve": the rows one event writes, given the rows it reads
 * (read-model-view.ts). No I/O here, so the rules can be tested without a database and the
 * projector folds a batch of events in memory before it writes. Each stream's events have a
 * module of their own; this one only routes by type.
 */

const SNAPSHOT_EVENT_TYPES = ['ControllerSnapshotted'] as const;

export type { ReadModelView, RowPut };

/** The rows one event writes, in order (a later put of the same row wins). Unknown types write nothing. */
export function projectEvent(view: ReadModelView, event: RecordedEvent): RowPut[] {
  if (isOneOf(event, EXPERIMENT_EVENT_TYPES)) return projectExperimentEvent(view, event);
  if (isOneOf(event, TRIAL_EVENT_TYPES)) return projectTrialEvent(view, event);
  if (isOneOf(event, TRANSFER_EVENT_TYPES)) return projectTransferEvent(view, event);
  // A controller snapshot is a resume's shortcut, not something the read models show.
  if (isOneOf(event, SNAPSHOT_EVENT_TYPES)) return [];
  return unprojected(event);
}

function isOneOf<T extends EventType>(event: RecordedEvent, types: readonly T[]): event is RecordedEvent<EventOfType<T>> {
  return (types as readonly string[]).includes(event.type);
}

/**
 * Typed `never`, so a catalogue type no stream module lists fails to compile here. At run
 * time a type this build does not know (written by a newer one) changes nothing.
 */
function unprojected(_event: never): RowPut[] {
  return [];
}
