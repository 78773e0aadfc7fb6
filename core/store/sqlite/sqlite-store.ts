import { mkdir, open as openFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Observable, Subject, exhaustMap, from, interval, merge, share, takeUntil } from 'rxjs';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../events/catalogue-registry.ts';
import type { RecordedEvent } from '../../events/event.ts';
import { createUpcaster, type UpcastFn } from '../../events/upcast.ts';
import { createEventValidator, type EventValidator } from '../../events/validate.ts';
import { StoreOpenError, WrongExpectedVersionError } from '../errors.ts';
import { assertReadStreamOptions, assertStreamName } from '../arguments.ts';
import { followLog } from '../follow-log.ts';
import { earlierAttempt, recordedFromRow } from '../stored-rows.ts';
import { prepareAppend, type PreparedEvent } from '../prepare-append.ts';
import {
  START,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamResult,
  type SubscribeOptions,
} from '../port.ts';
import type { NasnetEvent } from '../../events/event.ts';
import { SqliteConnection, isSqliteError, type SqlValue } from './connection.ts';
import { loadMigrations, migrate } from './migrate.ts';

export interface SqliteStoreOptions {
  catalogue?: EventCatalogue;
  /**
   * How often an idle subscription looks for events appended by other processes.
   * Appends made through this store instance are delivered at once.
   */
  pollIntervalMs?: number;
  /** How long a writer waits for another process's write transaction. */
  busyTimeoutMs?: number;
  /**
   * `normal` (default): in WAL mode a commit survives a crash of the process (SIGKILL);
   * the last commits may be lost on power failure. `full`: fsync on every commit.
   */
  synchronous?: 'normal' | 'full';
  /** Rows per read query for readAll and subscriptions. */
  pageSize?: number;
}

interface EventRow {
  position: number;
  stream: string;
  revision: number;
  id: string;
  type: string;
  version: number;
  data: string;
  metadata: string;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const COLUMNS = 'position, stream, revision, id, type, version, data, metadata';
/** Rows per INSERT statement: 5 parameters each stays far below SQLite's variable limit (32766). */
const INSERT_CHUNK = 1000;

/**
 * Opens (creating if needed) the SQLite event store at `path`. A file that is not a
 * SQLite database, or whose schema is newer than this code, is refused untouched.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteEventStore> {
  await refuseForeignFile(path);
  if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
  const migrations = await loadMigrations();
  const writer = await SqliteConnection.open(path);
  let reader: SqliteConnection | undefined;
  try {
    writer.busyTimeout(options.busyTimeoutMs ?? 10_000);
    await writer.exec('PRAGMA journal_mode = WAL');
    await writer.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    await migrate(writer, path, migrations);
    // Reads go through their own connection: on the writer's connection they would see
    // rows of an append still in flight, which may yet roll back.
    reader = await SqliteConnection.open(path);
    reader.busyTimeout(options.busyTimeoutMs ?? 10_000);
  } catch (error) {
    await writer.close().catch(() => undefined);
    if (error instanceof StoreOpenError) throw error;
    if (isSqliteError(error, 'SQLITE_NOTADB')) {
      throw new StoreOpenError(`${path} is not a SQLite database; it was left untouched`, { cause: error });
    }
    throw new StoreOpenError(`cannot open the event store at ${path}: ${(error as Error).message}`, { cause: error });
  }
  return new SqliteEventStore(writer, reader, options);
}

async function refuseForeignFile(path: string): Promise<void> {
  if (path === ':memory:') return;
  const info = await stat(path).catch(() => null);
  if (!info) return;
  if (!info.isFile()) throw new StoreOpenError(`${path} is not a file`);
  if (info.size === 0) return;
  const handle = await openFile(path, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (bytesRead < header.length || !header.equals(SQLITE_HEADER)) {
      throw new StoreOpenError(`${path} is not a SQLite database (wrong header); it was left untouched`);
    }
  } finally {
    await handle.close();
  }
}

export class SqliteEventStore implements EventStore {
  private readonly upcast: UpcastFn;
  private readonly validate: EventValidator;
  private readonly catalogue: EventCatalogue;
  private readonly pageSize: number;
  /** Appends on one connection must not interleave their transactions. */
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly appended$ = new Subject<bigint>();
  private readonly closed$ = new Subject<void>();
  /** One poller per store, shared by every live subscription and stopped when none listens. */
  private readonly heads$: Observable<bigint>;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly writer: SqliteConnection,
    private readonly reader: SqliteConnection,
    options: SqliteStoreOptions,
  ) {
    this.catalogue = options.catalogue ?? NASNET_CATALOGUE;
    this.upcast = createUpcaster(this.catalogue);
    this.validate = createEventValidator(this.catalogue);
    this.pageSize = options.pageSize ?? 2000;
    const polled$ = interval(options.pollIntervalMs ?? 50).pipe(exhaustMap(() => from(this.headPosition())));
    this.heads$ = merge(this.appended$, polled$).pipe(takeUntil(this.closed$), share());
  }

  append(stream: string, events: readonly NasnetEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    let prepared: PreparedEvent[];
    try {
      prepared = prepareAppend(stream, events, expectedRevision, this.validate);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closing) return Promise.reject(new Error('the event store is closed'));
    const result = this.writeChain.then(() => this.appendPrepared(stream, prepared, expectedRevision));
    this.writeChain = result.catch(() => undefined);
    return result;
  }

  private async appendPrepared(stream: string, events: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const db = this.writer;
    // One INSERT … SELECT statement is one write transaction: SQLite takes the write lock
    // when the statement starts (what BEGIN IMMEDIATE buys a multi-statement transaction),
    // checks the expectation against the stream's head inside it, and writes all rows or
    // none — in one round trip. Larger batches wrap their chunks in BEGIN IMMEDIATE.
    const chunked = events.length > INSERT_CHUNK;
    if (chunked) await db.exec('BEGIN IMMEDIATE');
    try {
      const written: Array<{ position: number; revision: number }> = [];
      for (let offset = 0; offset < events.length; offset += INSERT_CHUNK) {
        const chunk = events.slice(offset, offset + INSERT_CHUNK);
        const { sql, params } = insertStatement(
          stream,
          chunk,
          offset === 0 ? expected : 'any',
          offset === 0 ? events[0]!.id : null,
        );
        const rows = await db.allPrepared<{ position: number; revision: number }>(sql, params);
        if (rows.length === 0) {
          if (chunked) await db.exec('ROLLBACK');
          return await this.afterRefusedAppend(stream, events, expected);
        }
        written.push(...rows);
      }
      if (chunked) await db.exec('COMMIT');
      // RETURNING promises no order; revisions give the batch's order.
      written.sort((a, b) => a.revision - b.revision);
      const last = written[written.length - 1]!;
      this.appended$.next(BigInt(last.position));
      return { positions: written.map((row) => BigInt(row.position)), nextRevision: BigInt(last.revision) };
    } catch (error) {
      if (chunked) await db.exec('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** The insert wrote nothing: the expectation failed, or the append looks like a retry. */
  private async afterRefusedAppend(stream: string, events: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const current = await this.streamRevision(this.writer, stream);
    const retried = await this.findStoredAppend(stream, events, expected, current);
    if (retried) return retried;
    throw new WrongExpectedVersionError(stream, expected, current === null ? 'no_stream' : BigInt(current));
  }

  private async streamRevision(db: SqliteConnection, stream: string): Promise<number | null> {
    const row = await db.get<{ revision: number }>('SELECT revision FROM streams WHERE stream = ?', [stream]);
    return row?.revision ?? null;
  }

  /**
   * Recognises a retry: the same ids already stored, in order, where the first attempt of
   * this append put them — at the revisions it expected, or (with `any`/`stream_exists`)
   * at the end of the stream. Returns that attempt's result; null when it is no retry.
   * If only the first event matches, ids are being reused by a different batch: refused.
   */
  private async findStoredAppend(
    stream: string,
    events: PreparedEvent[],
    expected: ExpectedRevision,
    current: number | null,
  ): Promise<AppendResult | null> {
    if (current === null) return null;
    const first =
      expected === 'no_stream' ? 0 : typeof expected === 'bigint' ? Number(expected) + 1 : current - events.length + 1;
    if (first < 0) return null;
    const rows = await this.writer.all<{ id: string; position: number }>(
      'SELECT id, position FROM events WHERE stream = ? AND revision >= ? AND revision < ? ORDER BY revision',
      [stream, first, first + events.length],
    );
    return earlierAttempt(stream, events, BigInt(first), rows);
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    assertStreamName(stream);
    const backwards = options.direction === 'backwards';
    assertReadStreamOptions(options);
    const limit = options.maxCount ?? -1;
    const head = await this.streamRevision(this.reader, stream);
    if (head === null) return { exists: false, revision: null, events: [] };
    const from = options.fromRevision ?? (backwards ? BigInt(head) : 0n);
    const rows = await this.reader.all<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision ${backwards ? '<=' : '>='} ? ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT ?`,
      [stream, Number(from), limit],
    );
    return { exists: true, revision: BigInt(head), events: rows.map((row) => this.toRecorded(row)) };
  }

  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    let after = options.fromPosition ?? START;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    // The filter runs in SQLite: rows that do not match are never decoded, so reading one
    // experiment out of a million-event log costs a scan in C, not a million JSON parses.
    const where = filterClause(options.filter);
    while (remaining > 0) {
      const limit = Math.min(this.pageSize, remaining);
      const rows = await this.reader.allPrepared<EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE position > ?${where.sql} ORDER BY position LIMIT ?`,
        [Number(after), ...where.params, limit],
      );
      for (const row of rows) {
        yield this.toRecorded(row);
        if (--remaining === 0) return;
      }
      if (rows.length < limit) return;
      after = BigInt(rows[rows.length - 1]!.position);
    }
  }

  subscribe(options: SubscribeOptions = {}): Observable<RecordedEvent> {
    return followLog(
      {
        readPage: (after) => this.readPage(after),
        pageSize: this.pageSize,
        heads$: this.heads$,
        toRecorded: (row) => this.toRecorded(row),
      },
      options,
    );
  }

  async headPosition(): Promise<bigint> {
    const row = await this.reader.get<{ head: number | null }>('SELECT max(position) AS head FROM events');
    return BigInt(row?.head ?? 0);
  }

  /** Completes live subscriptions, waits for the append in flight, then closes both connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed$.next();
      this.closed$.complete();
      await this.writeChain;
      await this.writer.close();
      await this.reader.close();
    })();
    return this.closing;
  }

  private readPage(after: bigint, limit: number = this.pageSize): Promise<EventRow[]> {
    return this.reader.all<EventRow>(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`, [
      Number(after),
      limit,
    ]);
  }

  private toRecorded(row: EventRow): RecordedEvent {
    return recordedFromRow(row, this.catalogue, this.upcast);
  }
}

/**
 * The whole append as one statement. `h.next` is the revision the first new event gets
 * (0 for a new stream); the WHERE clause is the expectation, so a failed one inserts
 * nothing. With `any`/`stream_exists` it also inserts nothing when the stream already
 * ends with this batch's first id, which is what a retry of a landed append looks like.
 */
function insertStatement(
  stream: string,
  chunk: readonly PreparedEvent[],
  expected: ExpectedRevision,
  firstId: string | null,
): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [stream, stream];
  const rows: string[] = [];
  chunk.forEach((event, i) => {
    rows.push(`(${i}, ?, ?, ?, ?, ?)`);
    params.push(event.id, event.type, event.version, event.data, event.metadata);
  });
  const retryGuard = 'NOT EXISTS (SELECT 1 FROM events WHERE stream = h.stream AND revision = h.next - ? AND id = ?)';
  let where = '';
  if (expected === 'no_stream') where = 'WHERE h.next = 0';
  else if (typeof expected === 'bigint') {
    where = 'WHERE h.next = ?';
    params.push(Number(expected) + 1);
  } else if (firstId !== null) {
    where = expected === 'stream_exists' ? `WHERE h.next > 0 AND ${retryGuard}` : `WHERE ${retryGuard}`;
    params.push(chunk.length, firstId);
  } else if (expected === 'stream_exists') where = 'WHERE h.next > 0';
  const sql =
    'INSERT INTO events (stream, revision, id, type, version, data, metadata) ' +
    'SELECT h.stream, h.next + v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 ' +
    'FROM (SELECT ? AS stream, coalesce((SELECT revision FROM streams WHERE stream = ?), -1) + 1 AS next) AS h, ' +
    `(VALUES ${rows.join(', ')}) AS v ${where} ORDER BY v.column1 RETURNING position, revision`;
  return { sql, params };
}

/** An EventFilter as SQL conditions (the same semantics as matchesFilter in port.ts). */
function filterClause(filter: EventFilter | undefined): { sql: string; params: SqlValue[] } {
  let sql = '';
  const params: SqlValue[] = [];
  if (filter?.types) {
    if (filter.types.length === 0) return { sql: ' AND 0', params };
    sql += ` AND type IN (${filter.types.map(() => '?').join(', ')})`;
    params.push(...filter.types);
  }
  if (filter?.streamPrefixes) {
    if (filter.streamPrefixes.length === 0) return { sql: ' AND 0', params: [] };
    // substr, not LIKE: stream names may contain '_' and '%'.
    sql += ` AND (${filter.streamPrefixes.map(() => 'substr(stream, 1, ?) = ?').join(' OR ')})`;
    for (const prefix of filter.streamPrefixes) params.push(prefix.length, prefix);
  }
  return { sql, params };
}
