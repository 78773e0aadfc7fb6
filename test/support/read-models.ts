import { READ_MODEL_SCHEMA, READ_MODEL_TABLES } from '../../core/projections/read-model-tables.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';

/** Each table's primary key: the order a dump lists rows in. */
const KEYS: Record<string, string> = {
  ...Object.fromEntries(READ_MODEL_TABLES.map((table) => [table, READ_MODEL_SCHEMA[table].primaryKey.join(', ')])),
  rm_checkpoints: 'projection',
};

/** Every read-model row, table by table in key order: two dumps are equal when the tables are. */
export async function dumpReadModels(db: SqliteConnection): Promise<Record<string, unknown[]>> {
  const tables: Record<string, unknown[]> = {};
  for (const table of [...READ_MODEL_TABLES, 'rm_checkpoints'])
    tables[table] = await db.all(`SELECT * FROM ${table} ORDER BY ${KEYS[table]}`);
  return tables;
}
