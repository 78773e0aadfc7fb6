import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { EventType } from '../events/catalogue.ts';
import { EXPERIMENT_EVENT_TYPES, projectExperimentEvent } from './project-experiment-events.ts';
import { TRANSFER_EVENT_TYPES, projectTransferEvent } from './project-transfer-events.ts';
import { TRIAL_EVENT_TYPES, projectTrialEvent } from './project-trial-events.ts';
import type { RowChange } from './row-change.ts';

/**
 * The read models' "evolve": what one event changes in the rm_ tables, as plain data
 * (row-change.ts). No I/O here, so the rules can be tested without a database and the
 * projector stays a loop that runs these changes in a transaction. Each stream's events
 * have a module of their own; this one only routes by type.
 */

const SNAPSHOT_EVENT_TYPES = ['ControllerSnapshotted'] as const;

/** The change vocabulary, for callers that read projectEvent's result. */
export type { RowChange };

/** The rows one event changes, in the order they must be applied. Unknown types change nothing. */
export function projectEvent(event: RecordedEvent): RowChange[] {
  if (isOneOf(event, EXPERIMENT_EVENT_TYPES)) return projectExperimentEvent(event);
  if (isOneOf(event, TRIAL_EVENT_TYPES)) return projectTrialEvent(event);
  if (isOneOf(event, TRANSFER_EVENT_TYPES)) return projectTransferEvent(event);
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
function unprojected(_event: never): RowChange[] {
  return [];
}
