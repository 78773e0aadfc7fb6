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
import { SqliteConnection, isSqliteError } from '../store/sqlite/connection.ts';
import { loadMigrations, migrate } from '../store/sqlite/migrate.ts';
import { ProjectionError } from './projection-error.ts';
import { readAhead } from './read-ahead.ts';
import { literal } from './sql-script.ts';
import { READ_MODEL_TABLES } from './read-model-tables.ts';
import { RowCache } from './row-cache.ts';

export { ProjectionError };

/** The checkpoint row of the read models in rm_checkpoints. */
export const READ_MODELS_PROJECTION = 'read_models';

/**
 * Events per transaction: large enough to amortise the commit and fold a sample's events
 * into one write of its row, small enough to keep the write lock briefly (~60 ms at 2000).
 */
export const DEFAULT_BATCH_SIZE = 2000;

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
    // A catch-up batch writes megabytes: checkpointing the WAL at SQLite's default of 4 MB
    // did it on nearly every commit (a fifth of a replay's time); 40 MB keeps it occasional.
    await db.exec('PRAGMA wal_autocheckpoint = 10000');
    // A batch's inserts land all over the cell-hash indexes: with SQLite's default 2 MB page
    // cache, a read model past a few hundred thousand events kept re-reading its pages.
    await db.exec('PRAGMA cache_size = -131072');
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
  /**
   * The batch's script, compiled beforehand over rows as of `basis` (catchUp compiles a
   * batch while the one before is written). Used only if the checkpoint is still at `basis`;
   * otherwise the batch is compiled again over the rows the database holds.
   */
  compiled?: CompiledBatch;
}

export interface CompiledBatch {
  readonly basis: bigint;
  readonly script: string;
}

/**
 * Applies events (in log order) and advances the checkpoint in one transaction. The
 * checkpoint is read inside the write transaction and events at or below it are skipped,
 * so any number of processes may project into the same file and each event lands once.
 * Returns the checkpoint after the transaction.
 */
export async function applyEvents(
  db: SqliteConnection,
  events: readonly RecordedEvent[],
  options: ApplyOptions = {},
): Promise<bigint> {
  return (await applyBatch(db, events, options)).position;
}

/** applyEvents, also saying whether the precompiled script was the one applied. */
function applyBatch(
  db: SqliteConnection,
  events: readonly RecordedEvent[],
  options: ApplyOptions,
): Promise<{ position: bigint; precompiled: boolean }> {
  return exclusively(db, () =>
    waitOutBusy(async () => {
      const last = events.at(-1)?.position;
      if (options.compiled && last !== undefined && (await applyCompiled(db, options.compiled, last)))
        return { position: last, precompiled: true };
      return { position: await applyCarefully(db, events, options.after), precompiled: false };
    }),
  );
}

/**
 * The whole transaction of a precompiled batch as one call into SQLite: guard, rows,
 * checkpoint, commit. A transaction of several calls waits between them for JavaScript,
 * which is folding the next batch meanwhile; one call keeps SQLite busy. False, with nothing
 * applied, when the checkpoint is no longer the batch's basis or a row cannot be written:
 * applyCarefully then finds out which, and names the event at fault.
 */
async function applyCompiled(db: SqliteConnection, compiled: CompiledBatch, last: bigint): Promise<boolean> {
  try {
    await db.exec(`BEGIN IMMEDIATE;\n${checkpointGuard(compiled.basis)}${compiled.script}${checkpointAdvance(last)}COMMIT;`);
    return true;
  } catch (error) {
    await db.exec('ROLLBACK').catch(() => undefined);
    if (isBusy(error)) throw error;
    return false;
  }
}

/** Fails the script (a CHECK constraint) unless the checkpoint is at `basis`. */
function checkpointGuard(basis: bigint): string {
  return (
    'CREATE TEMP TABLE IF NOT EXISTS checkpoint_guard (at_basis INTEGER NOT NULL CHECK (at_basis));\n' +
    `INSERT INTO temp.checkpoint_guard (at_basis) SELECT coalesce((SELECT position FROM rm_checkpoints WHERE projection = ${literal(READ_MODELS_PROJECTION)}), '0') = ${literal(basis.toString())};\n` +
    'DELETE FROM temp.checkpoint_guard;\n'
  );
}

function checkpointAdvance(last: bigint): string {
  return `INSERT INTO rm_checkpoints (projection, position) VALUES (${literal(READ_MODELS_PROJECTION)}, ${literal(last.toString())}) ON CONFLICT (projection) DO UPDATE SET position = excluded.position;\n`;
}

/**
 * The batch in a transaction of its own steps: the checkpoint read inside it, the events at
 * or below it skipped, the rest folded over the rows the database holds, each event named if
 * its rows cannot be written. Returns the checkpoint after the transaction.
 */
async function applyCarefully(
  db: SqliteConnection,
  events: readonly RecordedEvent[],
  after: bigint | undefined,
): Promise<bigint> {
  await db.exec('BEGIN IMMEDIATE');
  try {
    const checkpoint = await readCheckpoint(db);
    if (after !== undefined && checkpoint < after) throw new CheckpointMovedBackError(checkpoint, after);
    const fresh = events.filter((event) => event.position > checkpoint);
    if (fresh.length > 0) await runScript(db, (await new RowCache().compile(db, fresh)).script, fresh);
    const last = fresh.at(-1)?.position ?? checkpoint;
    if (last > checkpoint) await db.exec(checkpointAdvance(last));
    await db.exec('COMMIT');
    return last;
  } catch (error) {
    await db.exec('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Batches catchUp has folded and queued for writing: enough to ride out a slow one. */
const BATCHES_IN_FLIGHT = 3;

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
    // Batches are written while the next are read and folded: SQLite works on the thread pool
    // while JavaScript decodes events and folds them over the rows the batches before leave
    // (the cache). Transactions still follow each other in log order (one connection's chain).
    const cache = new RowCache();
    if (position === 0n && (await readModelsEmpty(db))) cache.startedEmpty();
    let cacheValid = true;
    // The next batch's rows are read beside the transactions in flight, not queued behind them.
    const reader = await db.reader();
    const writing: Array<Promise<void>> = [];
    try {
      let after = position;
      let batch: RecordedEvent[] = [];
      const flush = async (): Promise<void> => {
        const events = batch;
        batch = [];
        const from = after;
        after = events[events.length - 1]!.position;
        // Once a batch had to be compiled again, the ones after it are too: folding them here would be wasted.
        const folded = cacheValid ? await cache.compile(reader.connection, events) : undefined;
        const apply = {
          after: from,
          // Read when the transaction starts: a batch before it that had to be compiled again
          // (the checkpoint had moved) leaves this one's script in doubt, so it is compiled again too.
          get compiled() {
            return cacheValid && folded ? { basis: from, script: folded.script } : undefined;
          },
        };
        writing.push(
          applyBatch(db, events, apply).then((result) => {
            position = result.position;
            if (result.precompiled) cache.committedUpTo(folded!.batch);
            else {
              cache.clear();
              cacheValid = false;
            }
            options.onProgress?.(result.position);
          }),
        );
        if (writing.length >= BATCHES_IN_FLIGHT) await writing.shift();
      };
      if (position < head && !options.signal?.aborted) {
        for await (const event of readAhead(store.readAll({ fromPosition: position }))) {
          if (event.position > head) break;
          batch.push(event);
          if (batch.length >= batchSize) {
            await flush();
            if (options.signal?.aborted) break;
          }
        }
        if (batch.length > 0 && !options.signal?.aborted) await flush();
      }
      while (writing.length > 0) await writing.shift();
      return position;
    } catch (error) {
      await Promise.allSettled(writing);
      // A replay elsewhere reset the checkpoint: read again from where it now stands.
      if (!(error instanceof CheckpointMovedBackError)) throw error;
    } finally {
      await reader.close();
    }
  }
}

async function readModelsEmpty(db: SqliteConnection): Promise<boolean> {
  for (const table of READ_MODEL_TABLES) if (await db.get(`SELECT 1 FROM ${table} LIMIT 1`)) return false;
  return true;
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

// ---- applying a batch's rows -----------------------------------------------------------------

/**
 * Runs a batch's script (row-writes.ts): one call into SQLite for the whole batch. A script
 * stops at its first failing statement without saying which event wrote it, so a failed
 * batch is undone to a savepoint and applied again event by event, which names the event
 * (the caller's transaction stays open, and is rolled back by the caller on the error).
 */
async function runScript(db: SqliteConnection, script: string, events: readonly RecordedEvent[]): Promise<void> {
  try {
    await db.exec(`SAVEPOINT batch;\n${script}RELEASE batch;`);
  } catch (error) {
    if (isBusy(error)) throw error;
    await db.exec('ROLLBACK TO batch; RELEASE batch;');
    for (const event of events) {
      const { script: own } = await new RowCache().compile(db, [event]);
      try {
        await db.exec(own);
      } catch (cause) {
        if (isBusy(cause)) throw cause;
        throw new ProjectionError(event.position, event.type, cause);
      }
    }
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
