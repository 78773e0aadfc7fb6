import type { EventCatalogue } from '../events/catalogue-registry.ts';
import type { RecordedEvent } from '../events/event.ts';
import type { JsonObject } from '../events/json.ts';
import type { UpcastFn } from '../events/upcast.ts';
import { DuplicateEventIdError } from './errors.ts';
import type { AppendResult } from './port.ts';
import type { PreparedEvent } from './prepare-append.ts';

/** An event row as a SQL adapter stores it; `data` and `metadata` as JSON text or already decoded. */
export interface StoredRow {
  position: number | string | bigint;
  stream: string;
  revision: number | string | bigint;
  id: string;
  type: string;
  version: number;
  data: string | JsonObject;
  metadata: string | JsonObject;
}

/** The port's event for a stored row, upcast to the catalogue's current version of its type. */
export function recordedFromRow(row: StoredRow, catalogue: EventCatalogue, upcast: UpcastFn): RecordedEvent {
  const decode = (value: string | JsonObject): JsonObject =>
    typeof value === 'string' ? (JSON.parse(value) as JsonObject) : value;
  return {
    id: row.id,
    type: row.type,
    version: catalogue.schemas[row.type]?.version ?? row.version,
    data: upcast(row.type, row.version, decode(row.data)),
    metadata: decode(row.metadata),
    stream: row.stream,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    // Validated when written and upcast since: the stored shape is the current one.
  } as unknown as RecordedEvent;
}

/**
 * Recognises a retry from the rows stored at the revisions the append would take, in order:
 * the earlier attempt's result when they hold this batch's ids; null when the first id is not
 * there (no retry); DuplicateEventIdError when only some are (ids reused by another batch).
 */
export function earlierAttempt(
  stream: string,
  events: readonly PreparedEvent[],
  first: bigint,
  rows: ReadonlyArray<{ id: string; position: number | string | bigint }>,
): AppendResult | null {
  if (rows.length === 0 || rows[0]!.id !== events[0]!.id) return null;
  if (rows.length !== events.length || rows.some((row, i) => row.id !== events[i]!.id)) {
    throw new DuplicateEventIdError(stream, events[0]!.id, stream);
  }
  return { positions: rows.map((row) => BigInt(row.position)), nextRevision: first + BigInt(events.length) - 1n };
}
