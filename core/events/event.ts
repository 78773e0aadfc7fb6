import type { EventData, EventType } from './catalogue.ts';

/** Who wrote an event, when, and why (README, "Events"). */
export interface EventMetadata {
  /** ISO-8601 time the writer created the event. */
  timestamp: string;
  /** The experiment (or transfer) this event belongs to. */
  correlationId: string;
  /** Id of the event that caused this one, null for a command from a person. */
  causationId: string | null;
  /** The process or worker that wrote it. */
  writerId: string;
}

/** An event as written: a plain `{id, type, version, data, metadata}` record. */
export interface EventEnvelope<T extends EventType = EventType> {
  /** A UUID; deterministic where the event is (see ids.ts), so a retried append is idempotent. */
  id: string;
  type: T;
  /** Schema version of `data`. */
  version: number;
  data: EventData<T>;
  metadata: EventMetadata;
}

/** The discriminated union of every nasnet event: narrowing on `type` types `data`. */
export type NasnetEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

/** An event as read back: with where it sits in its stream and in the whole log. */
export type RecordedEvent<E extends NasnetEvent = NasnetEvent> = E & {
  stream: string;
  /** 0-based index within its stream. */
  revision: bigint;
  /** Global position in the log: commit order, strictly increasing, starting at 1. */
  position: bigint;
};

export type EventOfType<T extends EventType> = Extract<NasnetEvent, { type: T }>;
