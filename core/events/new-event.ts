import { currentVersion, type EventData, type EventType } from './catalogue.ts';
import type { EventMetadata, EventOfType } from './event.ts';

/**
 * An event at its type's current schema version. Every writer builds events through the
 * stream factories (experiment-events.ts, trial-events.ts, transfer-events.ts), which build on
 * this, so a version bump in the catalogue reaches all of them.
 */
export function newEvent<T extends EventType>(type: T, id: string, data: EventData<T>, metadata: EventMetadata): EventOfType<T> {
  return { id, type, version: currentVersion(type), data, metadata } as EventOfType<T>;
}
