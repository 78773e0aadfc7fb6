import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START as ESDB_START,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  streamNameFilter,
  type AppendResult as EsdbAppendResult,
  type CurrentRevision,
  type ReadStreamOptions as EsdbReadStreamOptions,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { Observable } from 'rxjs';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../events/catalogue-registry.ts';
import type { NasnetEvent, RecordedEvent } from '../../events/event.ts';
import { NASNET_STREAM_PREFIXES } from '../../events/streams.ts';
import { createEventValidator, type EventValidator } from '../../events/validate.ts';
import { DuplicateEventIdError, StoreOpenError } from '../errors.ts';
import { assertReadStreamOptions, assertStreamName } from '../arguments.ts';
import { prepareAppend, type PreparedEvent } from '../prepare-append.ts';
import {
  START,
  matchesFilter,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamResult,
  type SubscribeOptions,
} from '../port.ts';
import {
  createEventReader,
  isNasnetRecord,
  positionOf,
  toEsdbEvent,
  toEsdbExpectedRevision,
  toWrongExpectedVersion,
} from './convert.ts';
import { encodePosition, toReadPosition } from './position.ts';

export interface EsdbStoreOptions {
  catalogue?: EventCatalogue;
}

export interface EsdbSubscribeOptions extends SubscribeOptions {
  /**
   * Called with a position the server has scanned up to, when no event for this
   * subscription lies between the last one delivered and it. A projection can store it
   * as its checkpoint, so a restart after a long stretch of other events skips that stretch.
   */
  onCheckpoint?: (position: bigint) => void;
}

/**
 * Opens the EventStoreDB store at an `esdb://` (or `esdb+discover://`) connection string.
 * Needs EventStoreDB 22.6 or later (stream reads must carry log positions).
 */
export async function openEsdbStore(connectionString: string, options: EsdbStoreOptions = {}): Promise<EsdbEventStore> {
  const where = withoutCredentials(connectionString);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(connectionString);
  } catch (error) {
    throw new StoreOpenError(`${where} is not a valid EventStoreDB connection string: ${messageOf(error)}`, { cause: error });
  }
  try {
    // The client connects lazily; one read now reports an unreachable server or refused
    // credentials at open instead of at the first append.
    await client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }).toArray();
  } catch (error) {
    await client.dispose().catch(() => undefined);
    throw new StoreOpenError(`cannot read from EventStoreDB at ${where}: ${messageOf(error)}`, { cause: error });
  }
  return new EsdbEventStore(client, options.catalogue ?? NASNET_CATALOGUE);
}

/**
 * The port over EventStoreDB. Global positions are (commit, prepare) packed into one bigint
 * (position.ts); $all is filtered to nasnet streams. Unlike SQLite, an event id reused in
 * another stream or at another revision is not detected (see reusedId).
 */
export class EsdbEventStore implements EventStore {
  private readonly validate: EventValidator;
  private readonly read: (recorded: EsdbRecordedEvent) => RecordedEvent;
  /** Completes each live subscription; close() calls them all. */
  private readonly live = new Set<() => void>();
  private closing: Promise<void> | null = null;

  constructor(
    /** The underlying client, for what the port does not cover. */
    readonly client: EventStoreDBClient,
    catalogue: EventCatalogue = NASNET_CATALOGUE,
  ) {
    this.validate = createEventValidator(catalogue);
    this.read = createEventReader(catalogue);
  }

  async append(stream: string, events: readonly NasnetEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(stream, events, expectedRevision, this.validate);
    this.assertOpen();
    let result: EsdbAppendResult;
    try {
      result = await this.client.appendToStream(stream, prepared.map(toEsdbEvent), {
        expectedRevision: toEsdbExpectedRevision(expectedRevision),
      });
    } catch (error) {
      if (!(error instanceof EsdbWrongExpectedVersionError)) throw error;
      throw (
        (await this.reusedId(stream, prepared, expectedRevision, error.actualVersion)) ??
        toWrongExpectedVersion(stream, expectedRevision, error.actualVersion)
      );
    }
    if (!result.success) {
      // Only with `throwOnAppendFailure=false` in the connection string; the client then
      // misreports the current revision (6.2.1 batch appends), so ask the stream.
      throw toWrongExpectedVersion(stream, expectedRevision, (await this.lastRevision(stream)) ?? NO_STREAM);
    }
    // The result names only the last event (for a retry the server recognised, the original
    // append's). Reading the batch back gives every event's position in both cases; from the
    // leader, as a follower may not have the write yet.
    const first = result.nextExpectedRevision - BigInt(prepared.length) + 1n;
    const written = await this.readRecords(stream, { fromRevision: first, maxCount: prepared.length, requiresLeader: true });
    if (written?.length !== prepared.length || written.some((record, i) => record.id !== prepared[i]!.id)) {
      throw new Error(
        `append to ${stream} succeeded at revision ${result.nextExpectedRevision}, but the events there are not the ones appended`,
      );
    }
    return { positions: written.map(positionOf), nextRevision: result.nextExpectedRevision };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    assertStreamName(stream);
    assertReadStreamOptions(options);
    this.assertOpen();
    const backwards = options.direction === 'backwards';
    const records =
      options.maxCount === 0
        ? []
        : await this.readRecords(stream, {
            direction: backwards ? BACKWARDS : FORWARDS,
            fromRevision: options.fromRevision ?? (backwards ? END : ESDB_START),
            maxCount: options.maxCount,
          });
    if (records === null) return { exists: false, revision: null, events: [] };
    const revision = lastRevisionRead(records, options) ?? (await this.lastRevision(stream));
    // null: the stream was deleted between the two reads.
    if (revision === null) return { exists: false, revision: null, events: [] };
    return { exists: true, revision, events: records.map(this.read) };
  }

  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const after = options.fromPosition ?? START;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const read = this.client.readAll({ fromPosition: toReadPosition(after) });
    try {
      for await (const { event } of read) {
        if (!event || !isNasnetRecord(event)) continue;
        // The client reads from a position inclusively; the port reads strictly after it.
        if (encodePosition(event.position) <= after) continue;
        if (!matchesFilter(options.filter, event.streamId, event.type)) continue;
        yield this.read(event);
        if (--remaining === 0) return;
      }
    } finally {
      await read.cancel();
    }
  }

  subscribe(options: EsdbSubscribeOptions = {}): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      if (this.closing) {
        subscriber.complete();
        return;
      }
      const { filter, onCheckpoint } = options;
      const after = options.fromPosition ?? START;
      let delivered = after;
      let reported = after;
      const subscription = this.client.subscribeToAll({
        fromPosition: toReadPosition(after),
        filter: streamNameFilter({
          prefixes: [...(filter?.streamPrefixes?.length ? filter.streamPrefixes : NASNET_STREAM_PREFIXES)],
          checkpointReached: (sub, position) => {
            const checkpoint = encodePosition(position);
            // A checkpoint may trail events already delivered, and events may still sit in
            // the client's buffer; reporting either would make a resumed projection redo or
            // skip events. Skipped checkpoints cost nothing: another one follows.
            if (!onCheckpoint || checkpoint <= reported || sub.readableLength > 0) return;
            reported = checkpoint;
            try {
              onCheckpoint(checkpoint);
            } catch (error) {
              subscriber.error(error);
            }
          },
        }),
      });
      subscription.on('data', ({ event }) => {
        if (!event || !isNasnetRecord(event)) return;
        const position = encodePosition(event.position);
        // Guards the start: the port's fromPosition is exclusive.
        if (position <= delivered) return;
        delivered = position;
        if (position > reported) reported = position;
        if (!matchesFilter(filter, event.streamId, event.type)) return;
        let recorded: RecordedEvent;
        try {
          recorded = this.read(event);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        subscriber.next(recorded);
      });
      subscription.on('error', (error) => subscriber.error(error));
      subscription.on('end', () => subscriber.complete());
      const complete = () => subscriber.complete();
      this.live.add(complete);
      return () => {
        this.live.delete(complete);
        // A subscription that failed to start has reported that through 'error' already.
        subscription.unsubscribe().catch(() => undefined);
      };
    });
  }

  /** Position of the newest nasnet event (system and foreign events are not part of the log the port exposes). */
  async headPosition(): Promise<bigint> {
    this.assertOpen();
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END });
    try {
      for await (const { event } of read) {
        if (event && isNasnetRecord(event)) return encodePosition(event.position);
      }
      return START;
    } finally {
      await read.cancel();
    }
  }

  /** Completes live subscriptions, then closes the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const complete of [...this.live]) complete();
      await this.client.dispose();
    })();
    return this.closing;
  }

  /**
   * The server takes a batch whose events all sit where this append would put them as a
   * retry, but refuses one that only starts that way with a plain conflict. The port calls
   * that a reused id. EventStoreDB keeps no index by id, so an id reused at another
   * revision or in another stream goes unnoticed (and is stored twice).
   */
  private async reusedId(
    stream: string,
    prepared: readonly PreparedEvent[],
    expected: ExpectedRevision,
    actual: CurrentRevision,
  ): Promise<DuplicateEventIdError | null> {
    const firstId = prepared[0]!.id;
    // These cannot conflict with an existing stream: the server refused the batch because
    // it found the first event in the stream already.
    if (expected === 'any' || (expected === 'stream_exists' && actual !== NO_STREAM)) {
      return new DuplicateEventIdError(stream, firstId, stream);
    }
    if (expected === 'stream_exists') return null;
    const at = expected === 'no_stream' ? 0n : expected + 1n;
    const [stored] = (await this.readRecords(stream, { fromRevision: at, maxCount: 1, requiresLeader: true })) ?? [];
    return stored?.id === firstId ? new DuplicateEventIdError(stream, firstId, stream) : null;
  }

  /** The client's records, or null when the stream does not exist. */
  private async readRecords(stream: string, options: EsdbReadStreamOptions): Promise<EsdbRecordedEvent[] | null> {
    const records: EsdbRecordedEvent[] = [];
    try {
      for await (const { event } of this.client.readStream(stream, options)) if (event) records.push(event);
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw error;
    }
    return records;
  }

  private async lastRevision(stream: string): Promise<bigint | null> {
    const last = await this.readRecords(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    return last?.[0]?.revision ?? null;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('the event store is closed');
  }
}

/** The stream's last revision when the read itself reached the end of the stream. */
function lastRevisionRead(
  records: EsdbRecordedEvent[],
  { direction, fromRevision, maxCount }: ReadStreamOptions,
): bigint | undefined {
  if (direction === 'backwards') return fromRevision === undefined ? records[0]?.revision : undefined;
  return maxCount === undefined || records.length < maxCount ? records.at(-1)?.revision : undefined;
}

/** Connection strings may carry a password (`esdb://user:pass@host`); keep it out of messages. */
function withoutCredentials(connectionString: string): string {
  return connectionString.replace(/\/\/[^@/]*@/, '//');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
