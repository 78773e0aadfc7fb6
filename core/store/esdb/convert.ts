import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  jsonEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData as EsdbEventData,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import type { EventCatalogue } from '../../events/catalogue-registry.ts';
import type { RecordedEvent } from '../../events/event.ts';
import type { JsonObject } from '../../events/json.ts';
import { isNasnetStream } from '../../events/streams.ts';
import { createUpcaster } from '../../events/upcast.ts';
import { WrongExpectedVersionError } from '../errors.ts';
import type { ExpectedRevision } from '../port.ts';
import type { PreparedEvent } from '../prepare-append.ts';
import { encodePosition } from './position.ts';

/** The metadata key that carries an event's schema version, which EventStoreDB has no field for. */
export const SCHEMA_VERSION_KEY = 'schemaVersion';

export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'any':
      return ANY;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

export function toWrongExpectedVersion(
  stream: string,
  expected: ExpectedRevision,
  actual: CurrentRevision,
): WrongExpectedVersionError {
  return new WrongExpectedVersionError(stream, expected, actual === NO_STREAM ? 'no_stream' : actual);
}

export function toEsdbEvent(prepared: PreparedEvent): EsdbEventData {
  // The client serialises `data` itself, so it gets the validated object, not `prepared.data`.
  return jsonEvent({
    id: prepared.id,
    type: prepared.type,
    data: prepared.event.data,
    metadata: { ...prepared.event.metadata, [SCHEMA_VERSION_KEY]: prepared.version },
  });
}

/** True for events the port exposes: nasnet streams only, never system events or links. */
export function isNasnetRecord(recorded: EsdbRecordedEvent): boolean {
  return !recorded.type.startsWith('$') && isNasnetStream(recorded.streamId);
}

/**
 * Why a stored record was not written by nasnet, or undefined when it was. Another application
 * may use a stream named like ours (`experiment-…`); its events are told apart by shape: nasnet
 * writes JSON objects and always puts an integer schema version in the metadata. A record that
 * has one is ours even if it cannot be read (unknown type, failed upcast): createEventReader
 * then refuses it, as it must not be skipped silently.
 */
export function foreignReason(recorded: EsdbRecordedEvent): string | undefined {
  if (!recorded.isJson) return 'it is not stored as JSON';
  if (!isPlainObject(recorded.data)) return 'its data is not a JSON object';
  if (!isPlainObject(recorded.metadata)) return 'its metadata is not a JSON object';
  const version = recorded.metadata[SCHEMA_VERSION_KEY];
  if (typeof version !== 'number' || !Number.isInteger(version)) return `its metadata has no integer ${SCHEMA_VERSION_KEY}`;
  return undefined;
}

/** True for records nasnet wrote (see foreignReason). */
export function isOwnRecord(recorded: EsdbRecordedEvent): boolean {
  return foreignReason(recorded) === undefined;
}

/**
 * What a batch counts against the server's MaxAppendSize. Servers count each event's data and
 * metadata bytes plus two bytes per character of its type (older ones count less); the id is
 * added as a margin. Data and metadata are measured as the client sends them: JSON text in UTF-8.
 */
export function appendSize(events: readonly EsdbEventData[]): number {
  let bytes = 0;
  for (const event of events) {
    bytes += payloadBytes(event.data) + payloadBytes(event.metadata) + event.type.length * 2 + event.id.length;
  }
  return bytes;
}

function payloadBytes(payload: unknown): number {
  if (payload === undefined) return 0;
  if (payload instanceof Uint8Array) return payload.byteLength;
  return Buffer.byteLength(JSON.stringify(payload), 'utf8');
}

/**
 * Builds the read path once per store: turns a stored EventStoreDB event back into the
 * port's RecordedEvent, upcast to the current schema version.
 */
export function createEventReader(catalogue: EventCatalogue): (recorded: EsdbRecordedEvent) => RecordedEvent {
  const upcast = createUpcaster(catalogue);
  return (recorded) => {
    if (!recorded.isJson || !isPlainObject(recorded.data)) throw unreadable(recorded, 'its data is not a JSON object');
    if (!isPlainObject(recorded.metadata)) throw unreadable(recorded, 'its metadata is not a JSON object');
    const { [SCHEMA_VERSION_KEY]: version, ...metadata } = recorded.metadata;
    if (typeof version !== 'number' || !Number.isInteger(version)) {
      throw unreadable(recorded, `its metadata has no integer ${SCHEMA_VERSION_KEY} (was it written by nasnet?)`);
    }
    const position = positionOf(recorded);
    // JSON.parse produced `data`, so it holds JSON values only.
    const data = upcast(recorded.type, version, recorded.data as JsonObject);
    return {
      id: recorded.id,
      type: recorded.type,
      // upcast threw for an unknown type, so the schema is there.
      version: catalogue.schemas[recorded.type]!.version,
      data,
      metadata,
      stream: recorded.streamId,
      revision: recorded.revision,
      position,
      // Validated when written and upcast since: the stored shape is the current one.
    } as unknown as RecordedEvent;
  };
}

/** The event's global position, encoded as the port's single bigint. */
export function positionOf(recorded: EsdbRecordedEvent): bigint {
  // Servers before 22.6 send no position on stream reads: the client then has none, or
  // (0, 0), which no event holds (the log starts with the server's own records).
  const position = recorded.position ? encodePosition(recorded.position) : 0n;
  if (position === 0n) throw unreadable(recorded, 'the server sent no log position (EventStoreDB 22.6 or later is needed)');
  return position;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function unreadable(recorded: EsdbRecordedEvent, reason: string): Error {
  return new Error(`cannot read ${recorded.type} event ${recorded.id} at ${recorded.streamId}@${recorded.revision}: ${reason}`);
}
