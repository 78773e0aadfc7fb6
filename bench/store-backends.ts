/**
 * The stores bench:store measures, each with its ceiling: the plain driver writing and reading
 * the same rows on a bare table of the same server, so a ratio says what the adapter costs.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { parsePostgresAddress } from '../core/store/address.ts';
import type { EventStore } from '../core/store/port.ts';
import { openPostgresStore } from '../core/store/postgres/postgres-store.ts';
import { SqliteConnection } from '../core/store/sqlite/connection.ts';
import { openSqliteStore } from '../core/store/sqlite/sqlite-store.ts';
import { inSchema } from '../test/support/postgres.ts';

/** stream, revision, id, type, version, data, metadata */
export type RawRow = [string, number, string, string, number, string, string];

export interface BenchBackend {
  store: EventStore;
  /** One transaction inserting these rows into the bare table. */
  rawInsert(rows: readonly RawRow[]): Promise<void>;
  /** Reads the bare table page by page, decoding `data`; returns the rows read. */
  rawReadAll(page: number): Promise<number>;
  /** Bytes the store's tables take per stored event (data and indexes). */
  bytesPerEvent(stored: number): Promise<number>;
  close(): Promise<void>;
  describe: Record<string, string>;
}

const RAW_COLUMNS = 'stream, revision, id, type, version, data, metadata';

export async function sqliteBackend(dir: string, synchronous: 'normal' | 'full'): Promise<BenchBackend> {
  const path = join(dir, 'store.db');
  const store = await openSqliteStore(path, { synchronous });
  const raw = await SqliteConnection.open(join(dir, 'raw.db'), sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
  await raw.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous.toUpperCase()};`);
  await raw.exec(
    'CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER, id TEXT, type TEXT, version INTEGER, data TEXT, metadata TEXT)',
  );
  return {
    store,
    async rawInsert(rows) {
      await raw.exec('BEGIN');
      await raw.run(
        `INSERT INTO events (${RAW_COLUMNS}) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        rows.flat(),
      );
      await raw.exec('COMMIT');
    },
    async rawReadAll(page) {
      let read = 0;
      let after = 0;
      for (;;) {
        const rows = await raw.all<{ position: number; data: string }>(
          `SELECT position, ${RAW_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
          [after, page],
        );
        for (const row of rows) if (JSON.parse(row.data)) read++;
        if (rows.length < page) return read;
        after = rows[rows.length - 1]!.position;
      }
    },
    bytesPerEvent: async (stored) => Math.round((await stat(path)).size / stored),
    close: async () => {
      await store.close();
      await raw.close();
    },
    describe: { store: 'sqlite', sqlite: sqlite3.VERSION, synchronous },
  };
}

/** A fresh schema on the server for the store and one for the bare table; both dropped at close. */
export async function postgresBackend(url: string): Promise<BenchBackend> {
  const tag = randomBytes(4).toString('hex');
  const schema = `nasnet_bench_${tag}`;
  const rawSchema = `nasnet_bench_raw_${tag}`;
  const store = await openPostgresStore(inSchema(url, schema));
  const raw = new pg.Client({ connectionString: parsePostgresAddress(url).connectionString });
  await raw.connect();
  await raw.query(`CREATE SCHEMA ${rawSchema}`);
  await raw.query(
    `CREATE TABLE ${rawSchema}.events (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream text, revision bigint, id text, type text, version integer, data json, metadata json)`,
  );
  const { rows: versionRows } = await raw.query<{ server_version: string }>('SHOW server_version');
  return {
    store,
    async rawInsert(rows) {
      await raw.query('BEGIN');
      const values = rows.map((_, r) => `(${[1, 2, 3, 4, 5, 6, 7].map((c) => `$${r * 7 + c}`).join(', ')})`);
      await raw.query(`INSERT INTO ${rawSchema}.events (${RAW_COLUMNS}) VALUES ${values.join(', ')}`, rows.flat());
      await raw.query('COMMIT');
    },
    async rawReadAll(page) {
      let read = 0;
      let after = '0';
      for (;;) {
        // pg decodes json columns itself, as the store's reads do.
        const { rows } = await raw.query<{ position: string; data: object }>(
          `SELECT position, ${RAW_COLUMNS} FROM ${rawSchema}.events WHERE position > $1 ORDER BY position LIMIT $2`,
          [after, page],
        );
        for (const row of rows) if (row.data) read++;
        if (rows.length < page) return read;
        after = rows[rows.length - 1]!.position;
      }
    },
    async bytesPerEvent(stored) {
      const { rows } = await raw.query<{ bytes: string }>(
        `SELECT pg_total_relation_size('${schema}.events') + pg_total_relation_size('${schema}.streams') AS bytes`,
      );
      return Math.round(Number(rows[0]!.bytes) / stored);
    },
    close: async () => {
      await store.close();
      await raw.query(`DROP SCHEMA ${schema} CASCADE`);
      await raw.query(`DROP SCHEMA ${rawSchema} CASCADE`);
      await raw.end();
    },
    describe: { store: 'postgres', postgres: versionRows[0]!.server_version },
  };
}
