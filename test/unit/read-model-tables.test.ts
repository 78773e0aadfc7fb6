import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sqlType, type Column } from '../../core/projections/columns.ts';
import { READ_MODEL_SCHEMA, READ_MODEL_TABLES } from '../../core/projections/read-model-tables.ts';
import { openReadModels } from '../../core/projections/sqlite-projector.ts';

// The migrations build the tables; read-model-tables.ts declares them for the code. These
// tests keep the two from drifting apart.

const db = await openReadModels(':memory:');
after(() => db.close());

interface TableInfo {
  name: string;
  type: string;
  notnull: number;
  pk: number;
}

describe('read-model tables', () => {
  it('are the tables the migrations create, besides the checkpoints', async () => {
    const rows = await db.all<{ name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'rm\\_%' ESCAPE '\\'",
    );
    assert.deepEqual(rows.map((r) => r.name).sort(), [...READ_MODEL_TABLES, 'rm_checkpoints'].sort());
  });

  for (const table of READ_MODEL_TABLES) {
    const declared: { columns: Readonly<Record<string, Column>>; primaryKey: readonly string[] } = READ_MODEL_SCHEMA[table];

    it(`${table}: columns, types, NULLs and key as the migrations made them`, async () => {
      const info = await db.all<TableInfo>(`PRAGMA table_info(${table})`);
      assert.deepEqual(
        // SQLite lets a rowid table's PRIMARY KEY hold NULL unless it says NOT NULL (rm_samples,
        // rm_transfers don't); the projector always sets the key, so it is declared non-null.
        info.map((c) => ({ name: c.name, type: c.type, nullable: c.notnull === 0 && c.pk === 0 })),
        Object.entries(declared.columns).map(([name, column]) => ({ name, type: sqlType(column), nullable: column.nullable })),
      );
      const key = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      assert.deepEqual(
        key.map((c) => c.name),
        declared.primaryKey,
      );
    });

    it(`${table}: enum columns allow what their CHECK constraints allow`, async () => {
      const row = await db.get<{ sql: string }>("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", [table]);
      const checks = new Map(
        [...row!.sql.matchAll(/^\s*(\w+)\s.*CHECK \(\1 IN \(([^)]*)\)\)/gm)].map(([, name, list]) => [
          name!,
          list!.split(',').map((value) => value.trim().replace(/^'(.*)'$/, '$1')),
        ]),
      );
      const enums = new Map(
        Object.entries(declared.columns)
          .filter(([, column]) => column.kind === 'enum')
          .map(([name, column]) => [name, [...column.values!]]),
      );
      assert.deepEqual(enums, checks);
    });
  }
});
