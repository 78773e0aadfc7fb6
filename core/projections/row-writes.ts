import type { SqlValue } from '../store/sqlite/connection.ts';
import type { RowWrite } from './batch-fold.ts';
import { READ_MODEL_SCHEMA, type ReadModelTable } from './read-model-tables.ts';
import { literal } from './sql-script.ts';

/** Rows per INSERT: long enough to amortise the statement, short enough to parse in one go. */
const ROWS_PER_INSERT = 100;

type Values = Readonly<Record<string, SqlValue | undefined>>;

/**
 * A batch's changed rows (batch-fold.ts) as one SQL script with its values written in
 * (sql-script.ts): new rows in multi-row INSERTs per table, changed rows in an UPDATE of
 * only the columns that changed, so indexes over unchanged columns are left alone (a sample
 * row has eight). Table and column names come from the schema, never from event data.
 */
export function writeScript(writes: Iterable<RowWrite>): string {
  const inserts = new Map<ReadModelTable, Values[]>();
  let script = '';
  for (const { put, before } of writes) {
    const row = put.row as Values;
    if (before === null) {
      const rows = inserts.get(put.table) ?? [];
      rows.push(row);
      inserts.set(put.table, rows);
    } else script += updateStatement(put.table, before as Values, row);
  }
  for (const [table, rows] of inserts) {
    const columns = Object.keys(READ_MODEL_SCHEMA[table].columns);
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const values = rows
        .slice(i, i + ROWS_PER_INSERT)
        .map((row) => `(${columns.map((c) => literal(row[c] ?? null)).join(', ')})`);
      script += `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(',\n')};\n`;
    }
  }
  return script;
}

function updateStatement(table: ReadModelTable, before: Values, row: Values): string {
  const { columns, primaryKey } = READ_MODEL_SCHEMA[table];
  const set = Object.keys(columns)
    .filter((c) => !primaryKey.includes(c as never) && (row[c] ?? null) !== (before[c] ?? null))
    .map((c) => `${c} = ${literal(row[c] ?? null)}`);
  if (set.length === 0) return '';
  const where = primaryKey.map((c) => `${c} = ${literal(before[c] ?? null)}`).join(' AND ');
  return `UPDATE ${table} SET ${set.join(', ')} WHERE ${where};\n`;
}
