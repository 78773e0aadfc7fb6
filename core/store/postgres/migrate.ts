import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { StoreOpenError } from '../errors.ts';
import { loadMigrationFiles, type Migration } from '../migrations.ts';

/** The numbered SQL files of the PostgreSQL event store. */
export const POSTGRES_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/postgres/', import.meta.url));

export function loadPostgresMigrations(dir: string = POSTGRES_MIGRATIONS_DIR): Promise<Migration[]> {
  return loadMigrationFiles(dir);
}

/**
 * Creates the schema if needed and brings it up to the newest known version, in one
 * transaction under an advisory lock, so two hosts opening a new store at once cannot both
 * apply a file. A schema newer than this code is refused untouched. Returns the version in force.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string,
  display: string,
  migrations: readonly Migration[],
): Promise<number> {
  const known = migrations.at(-1)?.version ?? 0;
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('nasnet.migrate'), hashtext($1))", [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS nasnet_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM nasnet_schema');
    const current = rows[0]?.version ?? 0;
    if (current > known) {
      throw new StoreOpenError(
        `${display} (schema ${schema}) has schema version ${current}, newer than this nasnet knows (${known}): upgrade nasnet; the database was not changed`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO nasnet_schema (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    await client.query('COMMIT');
    return Math.max(current, known);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
