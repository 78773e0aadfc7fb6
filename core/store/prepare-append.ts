import type { NasnetEvent } from '../events/event.ts';
import type { EventValidator } from '../events/validate.ts';
import { assertExpectedRevision, assertStreamName } from './arguments.ts';
import { StoreArgumentError } from './errors.ts';

/** An event checked and serialised, ready for any adapter to write. */
export interface PreparedEvent {
  id: string;
  type: string;
  version: number;
  /** JSON text of `data` and `metadata`, produced once so adapters never re-serialise. */
  data: string;
  metadata: string;
  event: NasnetEvent;
}

/**
 * Everything an adapter must check before it touches storage, in one place so every
 * adapter refuses the same inputs with the same errors.
 */
export function prepareAppend(
  stream: unknown,
  events: unknown,
  expectedRevision: unknown,
  validate: EventValidator,
): PreparedEvent[] {
  assertStreamName(stream);
  assertExpectedRevision(expectedRevision);
  if (!Array.isArray(events) || events.length === 0) {
    throw new StoreArgumentError('events', Array.isArray(events) ? [] : typeof events, 'must be a non-empty array of events');
  }
  const seen = new Set<string>();
  return events.map((raw) => {
    const event = validate(raw);
    if (seen.has(event.id)) throw new StoreArgumentError('events[].id', event.id, 'appears twice in one append');
    seen.add(event.id);
    return {
      id: event.id,
      type: event.type,
      version: event.version,
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(event.metadata),
      event,
    };
  });
}
