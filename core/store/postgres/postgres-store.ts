import pg from 'pg';
import { Observable, Subject, merge, share, takeUntil } from 'rxjs';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../events/catalogue-registry.ts';
import type { NasnetEvent, RecordedEvent } from '../../events/event.ts';
import type { JsonObject } from '../../events/json.ts';
import { createUpcaster, type UpcastFn } from '../../events/upcast.ts';
import { createEventValidator, type EventValidator } from '../../events/validate.ts';
import { parsePostgresAddress, type PostgresAddress } from '../address.ts';
import { assertReadStreamOptions, assertStreamName } from '../arguments.ts';
import { StoreOpenError, WrongExpectedVersionError } from '../errors.ts';
import { followLog } from '../follow-log.ts';
import { earlierAttempt, recordedFromRow } from '../stored-rows.ts';
import type { EventFilter } from '../port.ts';
import { prepareAppend, type PreparedEvent } from '../prepare-append.ts';
import {
  START,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamResult,
  type SubscribeOptions,
} from '../port.ts';
import { loadPostgresMigrations, migratePostgres } from './migrate.ts';
import { headNotifications } from './notifications.ts';

export interface PostgresStoreOptions {
  catalogue?: EventCatalogue;
  /** Rows per read query for readAll and subscriptions. */
  pageSize?: number;
  /** Connections for appends and reads (a live subscription holds one more, for LISTEN). */
  poolSize?: number;
  /**
   * Runs inside every append's transaction after its rows are written, before the commit:
   * the tests hold a transaction open here to race readers against it.
   */
  beforeCommit?: () => Promise<void>;
  /** How long the server lets a transaction of this store sit idle before it ends it (default 10 s). */
  idleInTransactionMs?: number;
}

/** int8 columns arrive as text: 64 bits do not fit a JavaScript number. */
interface EventRow {
  position: string;
  stream: string;
  revision: string;
  id: string;
  type: string;
  version: number;
  data: JsonObject;
  metadata: JsonObject;
}

/** An append's result; `committed` (only when it wrote) runs once its transaction committed. */
type Landed = AppendResult & { committed?: () => void };

/** Appends are a few round trips: a transaction idle this long belongs to a host that is gone. */
const IDLE_IN_TRANSACTION_MS = 10_000;

const COLUMNS = 'position, stream, revision, id, type, version, data, metadata';

/**
 * Every append holds this lock from before it takes positions until its commit is visible
 * (transaction-scoped advisory locks are released after the commit is), so positions are
 * taken and become visible in one order: a reader never sees position p before a lower one.
 * One lock per schema, so stores in other schemas of the database do not wait on each other.
 */
const LOCK_LOG = "pg_advisory_xact_lock(hashtext('nasnet.append'), hashtext(current_schema()))";

/**
 * Opens (creating and migrating if needed) the event store at a `postgres://` address; its
 * tables live in the address's `schema` (default `nasnet`). A schema newer than this code
 * is refused untouched.
 */
export async function openPostgresStore(
  address: string | PostgresAddress,
  options: PostgresStoreOptions = {},
): Promise<PostgresEventStore> {
  const { connectionString, schema, display } = typeof address === 'string' ? parsePostgresAddress(address) : address;
  const config: pg.ClientConfig = {
    connectionString,
    // A host that vanishes mid-append would hold the log's lock for as long as the server
    // believes its connection alive; the server ends such a transaction instead, and the
    // append fails on that host (its retry is recognised as one). Keepalives notice dead peers.
    options: `-c search_path=${schema} -c idle_in_transaction_session_timeout=${options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS}`,
    keepAlive: true,
    application_name: 'nasnet',
  };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 4 });
  // An idle connection that the server drops must not take the process down: the next query reconnects.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client, schema, display, await loadPostgresMigrations());
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(`cannot open the PostgreSQL event store at ${display}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return new PostgresEventStore(pool, config, schema, options);
}

export class PostgresEventStore implements EventStore {
  private readonly upcast: UpcastFn;
  private readonly validate: EventValidator;
  private readonly catalogue: EventCatalogue;
  private readonly pageSize: number;
  private readonly channel: string;
  private readonly appended$ = new Subject<bigint>();
  private readonly closed$ = new Subject<void>();
  /** One LISTEN connection per store, opened while some subscription listens. */
  private readonly heads$: Observable<bigint>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    config: pg.ClientConfig,
    schema: string,
    private readonly options: PostgresStoreOptions,
  ) {
    this.catalogue = options.catalogue ?? NASNET_CATALOGUE;
    this.upcast = createUpcaster(this.catalogue);
    this.validate = createEventValidator(this.catalogue);
    this.pageSize = options.pageSize ?? 2000;
    this.channel = `nasnet_events_${schema}`;
    const notified$ = headNotifications(config, this.channel, () => this.headPosition());
    this.heads$ = merge(this.appended$, notified$).pipe(takeUntil(this.closed$), share());
  }

  append(stream: string, events: readonly NasnetEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    let prepared: PreparedEvent[];
    try {
      prepared = prepareAppend(stream, events, expectedRevision, this.validate);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closing) return Promise.reject(new Error('the event store is closed'));
    const appending = this.inTransaction((client) => this.appendPrepared(client, stream, prepared, expectedRevision));
    this.inFlight.add(appending);
    void appending.catch(() => undefined).finally(() => this.inFlight.delete(appending));
    return appending;
  }

  private async appendPrepared(
    client: pg.PoolClient,
    stream: string,
    events: PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<Landed> {
    // Two statements: a statement's snapshot is taken when it starts, so a revision read by the
    // statement that waited for the lock would predate the append that held it.
    await client.query(`SELECT ${LOCK_LOG}`);
    const { rows } = await client.query<{ revision: string | null }>({
      name: 'nasnet-stream-revision',
      text: 'SELECT (SELECT revision FROM streams WHERE stream = $1) AS revision',
      values: [stream],
    });
    const current = rows[0]!.revision === null ? null : BigInt(rows[0]!.revision);
    const refused = await this.refusal(client, stream, events, expected, current);
    if (refused) return refused;
    const first = current === null ? 0n : current + 1n;
    const written = await client.query<{ position: string; revision: string }>({
      name: 'nasnet-append',
      text:
        'WITH ins AS (INSERT INTO events (stream, revision, id, type, version, data, metadata) ' +
        'SELECT $1, $2::bigint + v.o - 1, v.id, v.type, v.version, v.data::json, v.metadata::json ' +
        'FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[]) WITH ORDINALITY AS v(id, type, version, data, metadata, o) ' +
        'ORDER BY v.o RETURNING position, revision), ' +
        'head AS (INSERT INTO streams (stream, revision) VALUES ($1, $2::bigint + $8 - 1) ' +
        'ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision) ' +
        'SELECT position, revision FROM ins ORDER BY revision',
      values: [
        stream,
        first.toString(),
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.version),
        events.map((e) => e.data),
        events.map((e) => e.metadata),
        events.length,
      ],
    });
    const positions = written.rows.map((row) => BigInt(row.position));
    const last = positions.at(-1)!;
    await this.options.beforeCommit?.();
    // Delivered at commit, to every listening host.
    await client.query('SELECT pg_notify($1, $2)', [this.channel, last.toString()]);
    return { positions, nextRevision: first + BigInt(events.length) - 1n, committed: () => this.appended$.next(last) };
  }

  /**
   * The expectation, checked under the log's lock: null to go ahead, the stored result of an
   * earlier attempt when this append is its retry, else WrongExpectedVersionError thrown.
   * With `any`/`stream_exists`, a stream that already ends with this batch is a retry too.
   */
  private async refusal(
    client: pg.PoolClient,
    stream: string,
    events: PreparedEvent[],
    expected: ExpectedRevision,
    current: bigint | null,
  ): Promise<AppendResult | null> {
    const conflict = () => new WrongExpectedVersionError(stream, expected, current ?? 'no_stream');
    if (expected === 'no_stream' || typeof expected === 'bigint') {
      const wanted = expected === 'no_stream' ? null : expected;
      if (current === wanted) return null;
      if (current === null) throw conflict();
      const retried = await this.storedAppend(client, stream, events, wanted === null ? 0n : wanted + 1n);
      if (retried) return retried;
      throw conflict();
    }
    if (current === null) {
      if (expected === 'stream_exists') throw conflict();
      return null;
    }
    const first = current - BigInt(events.length) + 1n;
    return first < 0n ? null : this.storedAppend(client, stream, events, first);
  }

  /**
   * This batch's ids, in order, at revisions `first` … : the result of the earlier attempt.
   * Null when the first id is not there; DuplicateEventIdError when only some are (ids reused).
   */
  private async storedAppend(
    client: pg.PoolClient,
    stream: string,
    events: PreparedEvent[],
    first: bigint,
  ): Promise<AppendResult | null> {
    const { rows } = await client.query<{ id: string; position: string }>(
      'SELECT id, position FROM events WHERE stream = $1 AND revision >= $2 AND revision < $3 ORDER BY revision',
      [stream, first.toString(), (first + BigInt(events.length)).toString()],
    );
    return earlierAttempt(stream, events, first, rows);
  }

  /** BEGIN … COMMIT on one pooled connection; a thrown error rolls back. */
  private async inTransaction(work: (client: pg.PoolClient) => Promise<Landed>): Promise<AppendResult> {
    const client = await this.pool.connect();
    // The server may end the connection between queries (an idle timeout, a restart): the
    // error then arrives as an event, which must not go unheard, and the next query fails.
    let lost: Error | undefined;
    const onError = (error: Error) => (lost = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const { committed, ...result } = await work(client);
      await client.query(committed ? 'COMMIT' : 'ROLLBACK');
      committed?.();
      return result;
    } catch (error) {
      if (!lost) await client.query('ROLLBACK').catch(() => undefined);
      throw lost ?? error;
    } finally {
      client.off('error', onError);
      // A lost connection is thrown away, not returned to the pool.
      client.release(lost);
    }
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    assertStreamName(stream);
    assertReadStreamOptions(options);
    const backwards = options.direction === 'backwards';
    // One statement, one snapshot: the events and the head agree.
    const { rows } = await this.pool.query<{ head: string } & Partial<EventRow>>(
      `WITH h AS (SELECT revision FROM streams WHERE stream = $1) ` +
        `SELECT h.revision AS head, e.* FROM h LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM events ` +
        `WHERE stream = $1 AND revision ${backwards ? '<=' : '>='} coalesce($2::bigint, ${backwards ? 'h.revision' : '0'}) ` +
        `ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3) e ON true`,
      [stream, options.fromRevision?.toString() ?? null, options.maxCount ?? null],
    );
    if (rows.length === 0) return { exists: false, revision: null, events: [] };
    const events = rows.filter((row) => row.position !== null).map((row) => this.toRecorded(row as EventRow));
    return { exists: true, revision: BigInt(rows[0]!.head), events };
  }

  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    let after = options.fromPosition ?? START;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const limit = Math.min(this.pageSize, remaining);
      const rows = await this.readPage(after, limit, options.filter);
      for (const row of rows) {
        yield this.toRecorded(row);
        if (--remaining === 0) return;
      }
      if (rows.length < limit) return;
      after = BigInt(rows[rows.length - 1]!.position);
    }
  }

  subscribe(options: SubscribeOptions = {}): Observable<RecordedEvent> {
    // A closed store opens no LISTEN connection: its subscriptions complete at once.
    if (this.closing) return new Observable<RecordedEvent>((subscriber) => subscriber.complete());
    return followLog(
      {
        readPage: (after) => this.readPage(after, this.pageSize),
        pageSize: this.pageSize,
        heads$: this.heads$,
        toRecorded: (row) => this.toRecorded(row),
      },
      options,
    );
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM events');
    return BigInt(rows[0]!.head);
  }

  /** Completes live subscriptions, waits for the appends in flight, then closes the connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed$.next();
      this.closed$.complete();
      await Promise.allSettled([...this.inFlight]);
      await this.pool.end();
    })();
    return this.closing;
  }

  /** The filter runs in PostgreSQL: rows that do not match are never sent or decoded. */
  private async readPage(after: bigint, limit: number, filter?: EventFilter): Promise<EventRow[]> {
    const { rows } = await this.pool.query<EventRow>({
      name: 'nasnet-read-page',
      text:
        `SELECT ${COLUMNS} FROM events WHERE position > $1 ` +
        'AND ($2::text[] IS NULL OR type = ANY ($2)) ' +
        'AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS p(prefix) WHERE starts_with(stream, p.prefix))) ' +
        'ORDER BY position LIMIT $4',
      values: [after.toString(), filter?.types ?? null, filter?.streamPrefixes ?? null, limit],
    });
    return rows;
  }

  private toRecorded(row: EventRow): RecordedEvent {
    return recordedFromRow(row, this.catalogue, this.upcast);
  }
}
