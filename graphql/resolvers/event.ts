import type { RecordedEvent } from '../../core/events/event.ts';
import { eventExperimentId } from './event-log.ts';

// Positions and revisions are bigints; the schema carries them as strings.
export const eventResolvers = {
  position: (event: RecordedEvent) => event.position.toString(),
  revision: (event: RecordedEvent) => event.revision.toString(),
  experimentId: (event: RecordedEvent) => eventExperimentId(event),
};
