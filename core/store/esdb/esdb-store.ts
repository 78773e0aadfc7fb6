import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START as ESDB_START,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type AppendResult as EsdbAppendResult,
  type CurrentRevision,
  type EventData as EsdbEventData,
  type ReadStreamOptions as EsdbReadStreamOptions,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { Observable } from 'rxjs';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../events/catalogue-registry.ts';
import type { NasnetEvent, RecordedEvent } from '../../events/event.ts';
import { createEventValidator, type EventValidator } from '../../events/validate.ts';
import { DuplicateEventIdError, StoreArgumentError, StoreOpenError } from '../errors.ts';
import { assertReadStreamOptions, assertStreamName } from '../arguments.ts';
import { prepareAppend, type PreparedEvent } from '../prepare-append.ts';
import {
  START,
  matchesFilter,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamResult,
} from '../port.ts';
import { readRange } from './catch-up.ts';
import {
  appendSize,
  createEventReader,
  foreignReason,
  isNasnetRecord,
  positionOf,
  toEsdbEvent,
  toEsdbExpectedRevision,
  toWrongExpectedVersion,
} from './convert.ts';
import { AllFollower, type EsdbSubscribeOptions, type FollowContext } from './follow-all.ts';
import { encodePosition } from './position.ts';
import { Backoff, sleep } from '../backoff.ts';
import { describeError, isTransientError } from './transient.ts';

export type { EsdbSubscribeOptions } from './follow-all.ts';

export interface EsdbStoreOptions {
  catalogue?: EventCatalogue;
  /**
   * Told what the adapter worked around: a resubscription or read retried after a transient
   * error, a stream holding events nasnet did not write. Default: a process warning
   * (`process.emitWarning(message, 'NasnetWarning')`).
   */
  onWarning?: (message: string) => void;
  /**
   * The largest batch `append` sends, in bytes as the server counts them against its
   * MaxAppendSize (see appendSize); a larger one is refused before anything is sent.
   * Default 1,048,576, the server's default. Set it to a lower server limit to be told early.
   */
  maxAppendBytes?: number;
  /** Waits between attempts after a transient error: from `initialMs`, doubling up to `maxMs` (100 ms to 5 s). */
  retryBackoff?: { initialMs: number; maxMs: number };
  /**
   * How long `readAll` waits for a server that has gone quiet before reading the rest of the
   * log without the server filter (servers before 23.10 do not say when a filtered read has
   * reached the end; see catch-up.ts). Default 250 ms.
   */
  readIdleMs?: number;
}

/** EventStoreDB's default MaxAppendSize. */
export const DEFAULT_MAX_APPEND_BYTES = 1_048_576;
const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 5_000 };
const DEFAULT_READ_IDLE_MS = 250;
/** Transient failures in a row after which a read gives up: unlike a subscription, it has a caller waiting. */
const READ_RETRIES = 3;

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
  const { catalogue, ...adapterOptions } = options;
  return new EsdbEventStore(client, catalogue ?? NASNET_CATALOGUE, adapterOptions);
}

/**
 * The port over EventStoreDB. Global positions are (commit, prepare) packed into one bigint
 * (position.ts); $all is filtered to nasnet streams, on the server where the client allows it,
 * and to nasnet's own events (another application's events in a stream named like ours are
 * skipped with a warning). Subscriptions resubscribe and reads resume after transient errors;
 * appends over the server's size limit are refused before they are sent. Unlike SQLite, an
 * event id reused in another stream or at another revision is not detected (see reusedId).
 */
export class EsdbEventStore implements EventStore {
  private readonly validate: EventValidator;
  private readonly read: (recorded: EsdbRecordedEvent) => RecordedEvent;
  /** Completes each live subscription; close() calls them all. */
  private readonly live = new Set<() => void>();
  private closing: Promise<void> | null = null;
  private readonly warn: (message: string) => void;
  private readonly maxAppendBytes: number;
  private readonly retryBackoff: { initialMs: number; maxMs: number };
  private readonly readIdleMs: number;
  /** Streams already warned about holding events nasnet did not write: one warning each. */
  private readonly foreignStreams = new Set<string>();

  constructor(
    /** The underlying client, for what the port does not cover. */
    readonly client: EventStoreDBClient,
    catalogue: EventCatalogue = NASNET_CATALOGUE,
    options: Omit<EsdbStoreOptions, 'catalogue'> = {},
  ) {
    this.validate = createEventValidator(catalogue);
    this.read = createEventReader(catalogue);
    this.warn = options.onWarning ?? ((message) => process.emitWarning(message, 'NasnetWarning'));
    this.maxAppendBytes = options.maxAppendBytes ?? DEFAULT_MAX_APPEND_BYTES;
    if (!Number.isSafeInteger(this.maxAppendBytes) || this.maxAppendBytes <= 0) {
      throw new StoreArgumentError('maxAppendBytes', options.maxAppendBytes, 'must be a positive whole number of bytes');
    }
    this.retryBackoff = options.retryBackoff ?? DEFAULT_BACKOFF;
    this.readIdleMs = options.readIdleMs ?? DEFAULT_READ_IDLE_MS;
  }

  async append(stream: string, events: readonly NasnetEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(stream, events, expectedRevision, this.validate);
    const batch = prepared.map(toEsdbEvent);
    this.assertFits(batch);
    this.assertOpen();
    let result: EsdbAppendResult;
    try {
      result = await this.client.appendToStream(stream, batch, {
        expectedRevision: toEsdbExpectedRevision(expectedRevision),
      });
    } catch (error) {
      throw await this.appendError(error, stream, prepared, batch, expectedRevision);
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
    // The revision counts every event of the stream; only nasnet's are returned, so a read
    // with maxCount may return fewer events than it read.
    return { exists: true, revision, events: records.filter(this.isOurs).map(this.read) };
  }

  /**
   * Reads $all up to its newest position at the call, through the server filter (catch-up.ts);
   * events appended meanwhile are left to the next read or a subscription. A transient error
   * resumes the read after the last position read, up to READ_RETRIES times in a row.
   */
  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const { filter } = options;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const range = { last: options.fromPosition ?? START, head: await this.retrying('read of $all', () => this.newest()) };
    const backoff = this.backoff();
    let failures = 0;
    while (range.last < range.head) {
      const from = range.last;
      try {
        for await (const event of readRange(this.client, range, filter, this.readIdleMs)) {
          if (!this.exposes(event, filter)) continue;
          yield this.read(event);
          if (--remaining === 0) return;
        }
        return;
      } catch (error) {
        // Only failures in a row count: an attempt that read something starts the count again.
        if (range.last > from) {
          failures = 0;
          backoff.reset();
        }
        await this.beforeRetry(error, failures++, backoff, `read of $all after position ${range.last}`);
      }
    }
  }

  subscribe(options: EsdbSubscribeOptions = {}): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      if (this.closing) {
        subscriber.complete();
        return;
      }
      const follower = new AllFollower(this.followContext, subscriber, options);
      const complete = () => subscriber.complete();
      this.live.add(complete);
      follower.start();
      return () => {
        this.live.delete(complete);
        follower.stop();
      };
    });
  }

  /** Position of the newest nasnet event (system and foreign events are not part of the log the port exposes). */
  async headPosition(): Promise<bigint> {
    this.assertOpen();
    return this.retrying('read of the head of $all', () => this.newestExposed());
  }

  /** Completes live subscriptions, then closes the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const complete of [...this.live]) complete();
      await this.client.dispose();
    })();
    return this.closing;
  }

  /** Appends are atomic, so a batch over the limit is refused whole: splitting it would break that. */
  private assertFits(batch: readonly EsdbEventData[]): void {
    const bytes = appendSize(batch);
    if (bytes > this.maxAppendBytes) throw tooLarge(batch.length, bytes, `${this.maxAppendBytes} bytes (maxAppendBytes)`);
  }

  private async appendError(
    error: unknown,
    stream: string,
    prepared: readonly PreparedEvent[],
    batch: readonly EsdbEventData[],
    expectedRevision: ExpectedRevision,
  ): Promise<unknown> {
    if (error instanceof MaxAppendSizeExceededError) {
      // The server's limit is lower than maxAppendBytes: say so, with the limit to set.
      const limit = Number.isFinite(error.maxAppendSize)
        ? `${error.maxAppendSize} bytes (the server's MaxAppendSize; set maxAppendBytes to it)`
        : "the server's MaxAppendSize, which is lower than maxAppendBytes";
      return tooLarge(batch.length, appendSize(batch), limit);
    }
    if (!(error instanceof EsdbWrongExpectedVersionError)) return error;
    return (
      (await this.reusedId(stream, prepared, expectedRevision, error.actualVersion)) ??
      toWrongExpectedVersion(stream, expectedRevision, error.actualVersion)
    );
  }

  /** The newest position in $all, of any event (system ones too): where a read of the log ends. */
  private async newest(): Promise<bigint> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    try {
      for await (const { event } of read) if (event) return encodePosition(event.position);
      return START;
    } finally {
      await read.cancel();
    }
  }

  /** The newest position of an event the port exposes, START when there is none. */
  private async newestExposed(): Promise<bigint> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END });
    try {
      for await (const { event } of read) if (event && this.exposes(event, undefined)) return encodePosition(event.position);
      return START;
    } finally {
      await read.cancel();
    }
  }

  /** True for records the port returns under `filter`: nasnet's own, in nasnet streams. */
  private readonly exposes = (recorded: EsdbRecordedEvent, filter: EventFilter | undefined): boolean =>
    isNasnetRecord(recorded) && matchesFilter(filter, recorded.streamId, recorded.type) && this.isOurs(recorded);

  /**
   * False for records another application wrote in a stream named like ours; they are skipped,
   * with one warning per stream, rather than failing every read of the log.
   */
  private readonly isOurs = (recorded: EsdbRecordedEvent): boolean => {
    const reason = foreignReason(recorded);
    if (reason === undefined) return true;
    if (!this.foreignStreams.has(recorded.streamId)) {
      this.foreignStreams.add(recorded.streamId);
      this.warn(
        `EventStoreDB stream ${recorded.streamId} holds events nasnet did not write (${recorded.type} event ${recorded.id} at revision ${recorded.revision}: ${reason}); nasnet skips them, and warns about this stream only once`,
      );
    }
    return false;
  };

  private get followContext(): FollowContext {
    return { client: this.client, read: this.read, exposes: this.exposes, warn: this.warn, backoff: () => this.backoff() };
  }

  private backoff(): Backoff {
    return new Backoff(this.retryBackoff.initialMs, this.retryBackoff.maxMs);
  }

  /** Runs `read` again after transient errors, READ_RETRIES times in a row at most. */
  private async retrying<T>(what: string, read: () => Promise<T>): Promise<T> {
    const backoff = this.backoff();
    for (let failures = 0; ; failures++) {
      try {
        return await read();
      } catch (error) {
        await this.beforeRetry(error, failures, backoff, what);
      }
    }
  }

  /** Rethrows unless the error is transient and retries are left; otherwise warns and waits. */
  private async beforeRetry(error: unknown, failures: number, backoff: Backoff, what: string): Promise<void> {
    // close() cancels reads in flight; that, not how the cancelled read ended, is the cause.
    this.assertOpen();
    if (!isTransientError(error) || failures >= READ_RETRIES) throw error;
    const delay = backoff.delay();
    this.warn(
      `EventStoreDB ${what} failed (${describeError(error)}); retrying in ${delay} ms (${failures + 1} of ${READ_RETRIES})`,
    );
    await sleep(delay);
    this.assertOpen();
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

/** The port's refusal of a batch too large for one append; `limit` says how large one may be, and why. */
function tooLarge(count: number, bytes: number, limit: string): StoreArgumentError {
  return new StoreArgumentError(
    'events',
    { count, bytes },
    `must fit in one EventStoreDB append of at most ${limit}, but these ${count} events take ${bytes} bytes: append fewer events at a time`,
  );
}

/** Connection strings may carry a password (`esdb://user:pass@host`); keep it out of messages. */
function withoutCredentials(connectionString: string): string {
  return connectionString.replace(/\/\/[^@/]*@/, '//');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
