import { fileURLToPath } from 'node:url';
import { StoreOpenError } from '../errors.ts';
import { loadMigrationFiles, type Migration } from '../migrations.ts';
import type { SqliteConnection } from './connection.ts';

export type { Migration };

/** The repository's numbered SQL files for SQLite: event store tables and read-model tables. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

export function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  return loadMigrationFiles(dir);
}

/**
 * Brings the database up to the newest known schema. Runs inside one IMMEDIATE
 * transaction so two processes opening a new file at once cannot both apply a file.
 * Returns the schema version now in force.
 */
export async function migrate(db: SqliteConnection, path: string, migrations: readonly Migration[]): Promise<number> {
  const known = migrations.at(-1)?.version ?? 0;
  await db.exec('BEGIN IMMEDIATE');
  try {
    await db.exec(
      'CREATE TABLE IF NOT EXISTS nasnet_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const row = await db.get<{ version: number | null }>('SELECT max(version) AS version FROM nasnet_schema');
    const current = row?.version ?? 0;
    if (current > known) {
      throw new StoreOpenError(
        `${path} has schema version ${current}, newer than this nasnet knows (${known}): upgrade nasnet; the database was not changed`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await db.exec(migration.sql);
      await db.run('INSERT INTO nasnet_schema (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
    }
    await db.exec('COMMIT');
    return Math.max(current, known);
  } catch (error) {
    await db.exec('ROLLBACK');
    throw error;
  }
}
