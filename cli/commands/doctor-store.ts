import { existsSync, statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { parseStoreAddress, type PostgresAddress, type StoreAddress } from '../../core/store/address.ts';
import { openStore } from '../../core/store/open-store.ts';
import { loadPostgresMigrations } from '../../core/store/postgres/migrate.ts';
import { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import { loadMigrations } from '../../core/store/sqlite/migrate.ts';

/** What `nasnet doctor` says of the store, read without changing it. */
export interface StoreReport {
  address: string;
  ok: boolean;
  exists: boolean | null;
  schemaVersion: number | null;
  knownSchemaVersion: number | null;
  /** A string: global positions are bigints (EventStoreDB's need up to 128 bits). */
  headPosition: string | null;
  detail: string;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Looks at a SQLite store without changing it: no file is created, no migration applied
 * (opening it through the store would do both), and the database is opened read-only.
 */
async function sqliteStore(address: string, path: string): Promise<StoreReport> {
  const known = (await loadMigrations()).at(-1)?.version ?? 0;
  const report: StoreReport = {
    address,
    ok: false,
    exists: false,
    schemaVersion: null,
    knownSchemaVersion: known,
    headPosition: null,
    detail: '',
  };
  if (!existsSync(path))
    return { ...report, ok: true, detail: `${path} does not exist yet: the first command that writes creates it` };
  report.exists = true;
  if (!statSync(path).isFile()) return { ...report, detail: `${path} is not a file` };
  const handle = await openFile(path, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (statSync(path).size > 0 && (bytesRead < header.length || !header.equals(SQLITE_HEADER))) {
      return { ...report, detail: `${path} is not a SQLite database (wrong header)` };
    }
  } finally {
    await handle.close();
  }
  let db: SqliteConnection | null = null;
  try {
    db = await SqliteConnection.open(path, sqlite3.OPEN_READONLY);
    const hasSchema = await db.get<{ n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'nasnet_schema'",
    );
    if (!hasSchema?.n)
      return {
        ...report,
        ok: true,
        schemaVersion: 0,
        detail: 'empty: no nasnet tables yet (the first command that writes creates them)',
      };
    const version = (await db.get<{ v: number | null }>('SELECT max(version) AS v FROM nasnet_schema'))?.v ?? 0;
    const head = (await db.get<{ p: number | null }>('SELECT max(position) AS p FROM events'))?.p ?? 0;
    const base = { ...report, schemaVersion: version, headPosition: String(head) };
    if (version > known)
      return { ...base, detail: `schema version ${version} is newer than this nasnet knows (${known}): upgrade nasnet` };
    const pending = known - version;
    return {
      ...base,
      ok: true,
      detail:
        pending > 0
          ? `ok; ${pending} migration${pending === 1 ? '' : 's'} pending (applied by the next command that opens it for writing)`
          : 'ok',
    };
  } catch (error) {
    return { ...report, detail: `cannot read ${path}: ${(error as Error).message}` };
  } finally {
    await db?.close().catch(() => undefined);
  }
}

/**
 * Looks at a PostgreSQL store without changing it (opening it through the store would create
 * the schema and apply migrations): the schema's version, the newest known, the head.
 */
async function postgresStore(address: PostgresAddress): Promise<StoreReport> {
  const known = (await loadPostgresMigrations()).at(-1)?.version ?? 0;
  const report: StoreReport = {
    address: address.display,
    ok: false,
    exists: false,
    schemaVersion: null,
    knownSchemaVersion: known,
    headPosition: null,
    detail: '',
  };
  const client = new pg.Client({ connectionString: address.connectionString, connectionTimeoutMillis: 15_000 });
  try {
    await client.connect();
    const table = `${address.schema}.nasnet_schema`;
    const { rows } = await client.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [table]);
    if (rows[0]?.found === null)
      return {
        ...report,
        ok: true,
        detail: `schema ${address.schema} has no nasnet tables yet: the first command that writes creates them`,
      };
    const version = (await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${table}`)).rows[0]?.v ?? 0;
    const head = (await client.query<{ p: string }>(`SELECT coalesce(max(position), 0) AS p FROM ${address.schema}.events`))
      .rows[0]!.p;
    const base = { ...report, exists: true, schemaVersion: version, headPosition: head };
    if (version > known)
      return { ...base, detail: `schema version ${version} is newer than this nasnet knows (${known}): upgrade nasnet` };
    return {
      ...base,
      ok: true,
      detail: version < known ? 'ok; migrations pending (applied by the next command that writes)' : 'ok',
    };
  } catch (error) {
    return { ...report, exists: null, detail: `cannot read ${address.display}: ${(error as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function storeReport(address: string): Promise<StoreReport> {
  const failed = (detail: string): StoreReport => ({
    address,
    ok: false,
    exists: null,
    schemaVersion: null,
    knownSchemaVersion: null,
    headPosition: null,
    detail,
  });
  let parsed: StoreAddress;
  try {
    parsed = parseStoreAddress(address);
  } catch (error) {
    return failed((error as Error).message);
  }
  if (parsed.kind === 'sqlite') return sqliteStore(address, parsed.path);
  if (parsed.kind === 'postgres') return postgresStore(parsed);
  // EventStoreDB: opening and reading the head writes nothing; an unreachable server must not hang the doctor.
  let timer: NodeJS.Timeout | undefined;
  try {
    const store = await openStore(address);
    try {
      const head = await Promise.race([
        store.headPosition(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 15 s')), 15_000);
        }),
      ]);
      return {
        address,
        ok: true,
        exists: true,
        schemaVersion: null,
        knownSchemaVersion: null,
        headPosition: String(head),
        detail: 'ok',
      };
    } finally {
      clearTimeout(timer);
      await store.close().catch(() => undefined);
    }
  } catch (error) {
    return failed(`cannot open ${address}: ${(error as Error).message}`);
  }
}
