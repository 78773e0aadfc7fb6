import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  BehaviorSubject,
  bufferTime,
  concatMap,
  defer,
  filter,
  firstValueFrom,
  retry,
  switchMap,
  throwError,
  timer,
  type Subscription,
} from 'rxjs';
import type { RecordedEvent } from '../events/event.ts';
import type { EventStore } from '../store/port.ts';
import { SqliteConnection, isSqliteError, type SqlValue } from '../store/sqlite/connection.ts';
import { loadMigrations, migrate } from '../store/sqlite/migrate.ts';
import { inlineStatement } from './sql-script.ts';
import { TRIAL_STREAM_PREFIX } from '../events/streams.ts';
import { projectEvent } from './read-model-changes.ts';
import { READ_MODEL_TABLES } from './read-model-tables.ts';
import { isSqlExpression, type ColumnValue, type RowChange, type SqlExpression } from './row-change.ts';

/** The checkpoint row of the read models in rm_checkpoints. */
export const READ_MODELS_PROJECTION = 'read_models';

/** Events per transaction: large enough to amortise the commit, small enough to keep the write lock briefly. */
export const DEFAULT_BATCH_SIZE = 500;

const BUSY_TIMEOUT_MS = 5_000;
/** How long applyEvents keeps retrying a busy database after SQLite's own busy timeout gave up. */
const BUSY_GIVE_UP_MS = 120_000;

/**
 * The batch was read after a position the checkpoint no longer reaches: someone rebuilt
 * the read models (replay) meanwhile. Applying it would skip the events in between.
 */
export class CheckpointMovedBackError extends Error {
  constructor(
    readonly checkpoint: bigint,
    readonly after: bigint,
  ) {
    super(
      `the read-model checkpoint is at ${checkpoint}, behind ${after} where this batch was read from: they were rebuilt meanwhile`,
    );
    this.name = 'CheckpointMovedBackError';
  }
}

/**
 * Opens (creating it and its folder) a SQLite file for read models — the event store's
 * own file or another — in WAL mode, with the migrations applied.
 */
export async function openReadModels(path: string): Promise<SqliteConnection> {
  if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
  const db = await SqliteConnection.open(path);
  try {
    db.busyTimeout(BUSY_TIMEOUT_MS);
    const migrations = await loadMigrations();
    await waitOutBusy(() => db.exec('PRAGMA journal_mode = WAL'));
    await db.exec('PRAGMA synchronous = NORMAL');
    await waitOutBusy(() => migrate(db, path, migrations));
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** The last position reflected in the read models; START (0) before any. */
export async function readCheckpoint(db: SqliteConnection): Promise<bigint> {
  const row = await db.get<{ position: string }>('SELECT position FROM rm_checkpoints WHERE projection = ?', [
    READ_MODELS_PROJECTION,
  ]);
  return BigInt(row?.position ?? 0);
}

export interface ApplyOptions {
  /**
   * The position the batch was read after. When the checkpoint is behind it, the read
   * models were rebuilt since: CheckpointMovedBackError, nothing applied.
   */
  after?: bigint;
  /** compileBatch of the events, made beforehand (catchUp compiles a batch while the one before is written). */
  compiled?: readonly string[];
}

/**
 * Applies events (in log order) and advances the checkpoint in one transaction. The
 * checkpoint is read inside the write transaction and events at or below it are skipped,
 * so any number of processes may project into the same file and each event lands once.
 * Returns the checkpoint after the transaction.
 */
export function applyEvents(db: SqliteConnection, events: readonly RecordedEvent[], options: ApplyOptions = {}): Promise<bigint> {
  return exclusively(db, () =>
    waitOutBusy(async () => {
      await db.exec('BEGIN IMMEDIATE');
      try {
        const checkpoint = await readCheckpoint(db);
        if (options.after !== undefined && checkpoint < options.after)
          throw new CheckpointMovedBackError(checkpoint, options.after);
        const compiled = options.compiled ?? compileBatch(events);
        const fresh = events.flatMap((event, i) => (event.position > checkpoint ? [{ event, script: compiled[i]! }] : []));
        await applyAll(db, fresh);
        const last = fresh.at(-1)?.event.position ?? checkpoint;
        if (last > checkpoint) {
          await db.allPrepared(
            'INSERT INTO rm_checkpoints (projection, position) VALUES (?, ?) ON CONFLICT (projection) DO UPDATE SET position = excluded.position',
            [READ_MODELS_PROJECTION, last.toString()],
          );
        }
        await db.exec('COMMIT');
        return last;
      } catch (error) {
        await db.exec('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }),
  );
}

export interface CatchUpOptions {
  batchSize?: number;
  /** Stops between transactions; catchUp then returns the checkpoint reached so far. */
  signal?: AbortSignal;
  /** Called with the checkpoint after each transaction. */
  onProgress?: (position: bigint) => void;
}

/**
 * Projects everything from the checkpoint up to the head as it was when called, in
 * transactions of `batchSize` events. Returns the checkpoint reached.
 */
export async function catchUp(store: EventStore, db: SqliteConnection, options: CatchUpOptions = {}): Promise<bigint> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const head = await store.headPosition();
  for (;;) {
    let position = await readCheckpoint(db);
    // One batch is written while the next is read and compiled: SQLite works on the thread
    // pool while JavaScript decodes events and builds SQL, and a batch still waits for the
    // one before it, so transactions and checkpoints follow each other as before.
    let writing: Promise<void> = Promise.resolve();
    try {
      let after = position;
      let batch: RecordedEvent[] = [];
      const flush = async (): Promise<void> => {
        const events = batch;
        batch = [];
        const compiled = compileBatch(events);
        await writing;
        const from = after;
        after = events[events.length - 1]!.position;
        writing = applyEvents(db, events, { after: from, compiled }).then((reached) => {
          position = reached;
          options.onProgress?.(reached);
        });
      };
      if (position < head && !options.signal?.aborted) {
        for await (const event of store.readAll({ fromPosition: position })) {
          if (event.position > head) break;
          batch.push(event);
          if (batch.length >= batchSize) {
            await flush();
            if (options.signal?.aborted) break;
          }
        }
        if (batch.length > 0 && !options.signal?.aborted) await flush();
      }
      await writing;
      return position;
    } catch (error) {
      await writing.catch(() => undefined);
      // A replay elsewhere reset the checkpoint: read again from where it now stands.
      if (!(error instanceof CheckpointMovedBackError)) throw error;
    }
  }
}

/** Empties every read model and its checkpoint in one transaction, then projects the whole log again. */
export async function replay(store: EventStore, db: SqliteConnection, options: CatchUpOptions = {}): Promise<bigint> {
  await exclusively(db, () =>
    waitOutBusy(async () => {
      await db.exec('BEGIN IMMEDIATE');
      try {
        for (const table of READ_MODEL_TABLES) await db.run(`DELETE FROM ${table}`);
        await db.run('DELETE FROM rm_checkpoints WHERE projection = ?', [READ_MODELS_PROJECTION]);
        await db.exec('COMMIT');
      } catch (error) {
        await db.exec('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }),
  );
  return catchUp(store, db, options);
}

export interface ProjectorOptions {
  /** Most events per transaction. */
  batchSize?: number;
  /** How long events that arrive together are gathered into one transaction. */
  batchMs?: number;
  /** Called once if the projector stops on an error (caughtUp() rejects with it too). */
  onError?: (error: unknown) => void;
}

export interface Projector {
  /** Stops following the log and waits for the transaction in flight. */
  stop(): Promise<void>;
  /** Resolves once the read models reflect the store's head as of this call. */
  caughtUp(): Promise<void>;
  /** The checkpoint after the last transaction (START before the first). */
  position(): bigint;
}

interface ProjectorState {
  position: bigint;
  failure: { error: unknown } | null;
  stopped: boolean;
}

/**
 * Follows the store from the checkpoint: first the backlog, pulled page by page (catchUp),
 * then live, gathering the events of a burst into one transaction. If the read models are
 * rebuilt under it (replay elsewhere), it starts again from the new checkpoint.
 *
 * Give it a connection of its own: queries on the same connection would see a batch's rows
 * before its transaction commits.
 */
export function runProjector(store: EventStore, db: SqliteConnection, options: ProjectorOptions = {}): Projector {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const batchMs = options.batchMs ?? 10;
  const state$ = new BehaviorSubject<ProjectorState>({ position: 0n, failure: null, stopped: false });
  const publish = (change: Partial<ProjectorState>): void => state$.next({ ...state$.value, ...change });
  const stopping = new AbortController();
  // Unsubscribing does not cancel a promise: stop() waits for the work in flight here.
  let inFlight: Promise<unknown> = Promise.resolve();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight = work.catch(() => undefined);
    return work;
  };
  let after = 0n;

  const apply = async (batch: RecordedEvent[]): Promise<void> => {
    const position = await applyEvents(db, batch, { after });
    after = batch[batch.length - 1]!.position;
    publish({ position });
  };

  const subscription: Subscription = defer(() =>
    // The live subscription pushes without backpressure, so a long backlog is pulled first:
    // memory stays at one page however far behind the checkpoint is.
    track(catchUp(store, db, { batchSize, signal: stopping.signal, onProgress: (position) => publish({ position }) })),
  )
    .pipe(
      switchMap((checkpoint) => {
        after = checkpoint;
        publish({ position: checkpoint });
        return store.subscribe({ fromPosition: checkpoint });
      }),
      bufferTime(batchMs, null, batchSize),
      filter((batch) => batch.length > 0),
      concatMap((batch) => track(apply(batch))),
      retry({ delay: (error: unknown) => (error instanceof CheckpointMovedBackError ? timer(0) : throwError(() => error)) }),
    )
    .subscribe({
      error: (error: unknown) => {
        publish({ failure: { error } });
        options.onError?.(error);
      },
      complete: () => publish({ stopped: true }),
    });

  return {
    async stop() {
      stopping.abort();
      subscription.unsubscribe();
      await inFlight;
      publish({ stopped: true });
    },
    async caughtUp() {
      const head = await store.headPosition();
      const state = await firstValueFrom(state$.pipe(filter((s) => s.failure !== null || s.stopped || s.position >= head)));
      if (state.failure) throw state.failure.error;
      if (state.position < head) throw new Error(`the projector stopped at position ${state.position}, before the head ${head}`);
    },
    position: () => state$.value.position,
  };
}

// ---- applying row changes -------------------------------------------------------------------

/** Compiles a change to one statement. Table and column names come from the typed change, never from event data. */
export function changeStatement(change: RowChange): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [];
  const value = (v: ColumnValue | undefined): string => {
    if (isSqlExpression(v)) {
      params.push(...v.params);
      return `(${v.sql})`;
    }
    params.push(v ?? null);
    return '?';
  };
  const condition = (e: SqlExpression): string => {
    params.push(...e.params);
    return `(${e.sql})`;
  };
  const assignments = (set: Readonly<Record<string, ColumnValue | undefined>>): string =>
    Object.entries(set)
      .map(([column, v]) => `${column} = ${value(v)}`)
      .join(', ');

  switch (change.op) {
    case 'insert': {
      const row: Readonly<Record<string, ColumnValue | undefined>> = change.row;
      const columns = Object.keys(row);
      const values = columns.map((column) => value(row[column])).join(', ');
      return { sql: `INSERT INTO ${change.table} (${columns.join(', ')}) VALUES (${values}) ON CONFLICT DO NOTHING`, params };
    }
    case 'upsert': {
      const row: Readonly<Record<string, ColumnValue | undefined>> = change.row;
      const columns = Object.keys(row);
      const values = columns.map((column) => value(row[column])).join(', ');
      // INSERT … SELECT needs a WHERE before ON CONFLICT, or SQLite reads ON as a join.
      const insertWhere = change.insertWhere ? condition(change.insertWhere) : 'true';
      let text =
        `INSERT INTO ${change.table} (${columns.join(', ')}) SELECT ${values} WHERE ${insertWhere} ` +
        `ON CONFLICT (${change.conflictKey.join(', ')}) DO UPDATE SET ${assignments(change.onConflict)}`;
      if (change.onConflictWhere) text += ` WHERE ${condition(change.onConflictWhere)}`;
      return { sql: text, params };
    }
    case 'update': {
      const set = assignments(change.set);
      const key: Readonly<Record<string, SqlValue | undefined>> = change.key;
      const where = Object.keys(key).map((column) => {
        params.push(key[column] ?? null);
        return `${column} = ?`;
      });
      if (change.where) where.push(condition(change.where));
      return { sql: `UPDATE ${change.table} SET ${set} WHERE ${where.join(' AND ')}`, params };
    }
  }
}

/** An event the read models could not take; the projector stops at it rather than skip it. */
export class ProjectionError extends Error {
  constructor(
    readonly position: bigint,
    readonly eventType: string,
    cause: unknown,
  ) {
    super(`cannot project ${eventType} at position ${position}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'ProjectionError';
  }
}

/**
 * Runs a batch's changes as one script (sql-script.ts): one call into SQLite for the whole
 * batch instead of one per change. A script stops at its first failing statement without
 * saying which event wrote it, so a failed batch is undone to a savepoint and applied again
 * change by change, which names the event (the caller's transaction stays open).
 */
async function applyAll(db: SqliteConnection, batch: ReadonlyArray<{ event: RecordedEvent; script: string }>): Promise<void> {
  if (batch.length === 0) return;
  try {
    await db.exec(`SAVEPOINT batch;\n${batch.map(({ script }) => script).join('\n')}\nRELEASE batch;`);
  } catch (error) {
    if (isBusy(error)) throw error;
    await db.exec('ROLLBACK TO batch; RELEASE batch;');
    for (const { event } of batch) await applyEvent(db, event);
  }
}

/**
 * A batch's row changes as SQL statements with their values written in (sql-script.ts),
 * one script per event. A training reports every epoch, and each report sets its trial's
 * last epoch and its sample's status; when a later report of the same attempt follows in the
 * batch with no other event of that sample between, the later one sets the same columns
 * last, so the earlier one keeps only its epoch's metrics row. The rows come out the same
 * (the live-versus-replay tests compare them with batches of every size).
 */
export function compileBatch(events: readonly RecordedEvent[]): string[] {
  const superseded = supersededProgress(events);
  return events.map((event, i) => {
    let script = '';
    for (const change of projectEvent(event)) {
      if (superseded.has(i) && change.table !== 'rm_trial_epochs') continue;
      const { sql, params } = changeStatement(change);
      script += `${inlineStatement(sql, params)};\n`;
    }
    return script;
  });
}

/** Indices of TrainingProgressed events followed in the batch by another of the same attempt, with nothing else of that sample between. */
function supersededProgress(events: readonly RecordedEvent[]): Set<number> {
  const superseded = new Set<number>();
  // Per sample, the next trial event after the one being looked at (scanning backwards).
  const next = new Map<string, { progressOfAttempt: number | null }>();
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    const sample = (event.data as { sampleId?: unknown }).sampleId;
    if (typeof sample !== 'string' || !event.stream.startsWith(TRIAL_STREAM_PREFIX)) continue;
    const attempt = event.type === 'TrainingProgressed' ? event.data.attempt : null;
    if (attempt !== null && next.get(sample)?.progressOfAttempt === attempt) superseded.add(i);
    next.set(sample, { progressOfAttempt: attempt });
  }
  return superseded;
}

async function applyEvent(db: SqliteConnection, event: RecordedEvent): Promise<void> {
  try {
    for (const change of projectEvent(event)) {
      const { sql, params } = changeStatement(change);
      // Prepared once per SQL text: a batch runs the same few dozen statements over and over.
      await db.allPrepared(sql, params);
    }
  } catch (error) {
    if (isBusy(error)) throw error;
    throw new ProjectionError(event.position, event.type, error);
  }
}

// ---- concurrency --------------------------------------------------------------------------

/** One transaction at a time per connection: SQLite has no nested BEGIN. */
const chains = new WeakMap<SqliteConnection, Promise<unknown>>();

function exclusively<T>(db: SqliteConnection, work: () => Promise<T>): Promise<T> {
  const previous = chains.get(db) ?? Promise.resolve();
  const result = previous.then(work);
  chains.set(
    db,
    result.catch(() => undefined),
  );
  return result;
}

function isBusy(error: unknown): boolean {
  return isSqliteError(error, 'SQLITE_BUSY') || isSqliteError(error, 'SQLITE_LOCKED');
}

/**
 * Another process's write transaction is a wait, not an error: SQLite's busy timeout
 * covers most of it, and the few busy results it returns at once (a lock upgrade, WAL
 * recovery) are retried here, with the whole transaction, until BUSY_GIVE_UP_MS.
 */
async function waitOutBusy<T>(work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isBusy(error) || Date.now() - started > BUSY_GIVE_UP_MS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, 5 * 2 ** attempt)));
    }
  }
}
