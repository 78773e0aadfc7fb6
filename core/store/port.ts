import type { Observable } from 'rxjs';
import type { NasnetEvent, RecordedEvent } from '../events/event.ts';

/**
 * What an append expects of its stream:
 * - `no_stream`: the stream must not exist yet;
 * - `stream_exists`: it must have at least one event;
 * - `any`: no check;
 * - a bigint: the revision of the stream's last event (0-based).
 */
export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | bigint;

export interface AppendResult {
  /** Global positions of the appended events, in order. */
  positions: bigint[];
  /** The stream's revision after the append (its last event's revision). */
  nextRevision: bigint;
}

/** Global position before the first event: reading "after START" reads everything. */
export const START: bigint = 0n;

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** First revision to return (inclusive). Defaults to the start (forwards) or the end (backwards). */
  fromRevision?: bigint;
  maxCount?: number;
}

export interface ReadStreamResult {
  exists: boolean;
  /** Revision of the stream's last event, null when the stream does not exist. */
  revision: bigint | null;
  events: RecordedEvent[];
}

/** Which events a reader wants; every condition given must hold. */
export interface EventFilter {
  streamPrefixes?: readonly string[];
  types?: readonly string[];
}

export interface ReadAllOptions {
  /** Read events strictly after this global position (a checkpoint: the last position processed). */
  fromPosition?: bigint;
  filter?: EventFilter;
  maxCount?: number;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this global position. */
  fromPosition?: bigint;
  filter?: EventFilter;
}

/**
 * The event store port (README, "The event store"). Adapters: SQLite (embedded default) and EventStoreDB.
 * Every write is validated against the event catalogue first; an invalid event fails the
 * whole call before anything is written.
 */
export interface EventStore {
  /**
   * Appends atomically: all events or none. Re-appending events whose ids are already
   * stored by the same append (same stream, same expected revision) returns the original
   * positions and stores nothing. Throws WrongExpectedVersionError on a conflict.
   */
  append(stream: string, events: readonly NasnetEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  /** The whole log in commit order, page by page. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /**
   * The backlog after `fromPosition`, then new events as they are appended — by this
   * process or another — in order, with no gap and no duplicate. Completes when the store closes.
   */
  subscribe(options?: SubscribeOptions): Observable<RecordedEvent>;
  /** Global position of the newest event, START when the log is empty. */
  headPosition(): Promise<bigint>;
  close(): Promise<void>;
}

export function matchesFilter(filter: EventFilter | undefined, stream: string, type: string): boolean {
  if (!filter) return true;
  if (filter.types && !filter.types.includes(type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => stream.startsWith(prefix))) return false;
  return true;
}
