import { READ_MODEL_TABLES } from '../../core/projections/read-model-changes.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';

/** Each read-model table's primary key: the order a dump lists rows in. */
const KEYS: Record<string, string> = {
  rm_experiments: 'id',
  rm_samples: 'sample_id',
  rm_trials: 'sample_id, attempt',
  rm_policy_updates: 'experiment_id, version',
  rm_transfers: 'transfer_id',
  rm_best_cells: 'experiment_id, cell_hash',
  rm_checkpoints: 'projection',
};

/** Every read-model row, table by table in key order: two dumps are equal when the tables are. */
export async function dumpReadModels(db: SqliteConnection): Promise<Record<string, unknown[]>> {
  const tables: Record<string, unknown[]> = {};
  for (const table of [...READ_MODEL_TABLES, 'rm_checkpoints'])
    tables[table] = await db.all(`SELECT * FROM ${table} ORDER BY ${KEYS[table]}`);
  return tables;
}
