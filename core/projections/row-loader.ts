import type { SqliteConnection, SqlValue } from '../store/sqlite/connection.ts';
import type { Entry, Lookup } from './batch-fold.ts';
import { lookupKey } from './batch-fold.ts';
import type { ReadModelRecord, ReadModelTable } from './read-model-tables.ts';
import type { BestCellRow, TrialRow } from './read-model-view.ts';

/** Keys per IN list: well under SQLite's bound-parameter limit. */
const CHUNK = 500;

/**
 * Reads the rows behind lookups a fold missed (batch-fold.ts), a few queries per table
 * rather than one per lookup. Every lookup asked gets an answer, and only those: null (or no
 * trials) when the database has no such row.
 */
export async function loadLookups(db: SqliteConnection, lookups: readonly Lookup[]): Promise<Map<string, Entry>> {
  const found = new Map<string, Entry>();
  for (const lookup of lookups) found.set(lookupKey(lookup), lookup.kind === 'trials' ? [] : null);
  const byKind = groupBy(lookups, (l) => l.kind);
  const of = <K extends Lookup['kind']>(kind: K) => (byKind.get(kind) ?? []) as Extract<Lookup, { kind: K }>[];
  const file = (lookup: Lookup, row: Entry) => {
    const key = lookupKey(lookup);
    if (found.has(key)) found.set(key, row);
  };

  await rowsIn(db, { table: 'rm_experiments', column: 'id', values: of('experiment').map((l) => l.id) }, (r) =>
    file({ kind: 'experiment', id: r.id }, r),
  );
  await rowsIn(db, { table: 'rm_samples', column: 'sample_id', values: of('sample').map((l) => l.sampleId) }, (r) =>
    file({ kind: 'sample', sampleId: r.sample_id }, r),
  );
  await rowsIn(db, { table: 'rm_transfers', column: 'transfer_id', values: of('transfer').map((l) => l.transferId) }, (r) =>
    file({ kind: 'transfer', transferId: r.transfer_id }, r),
  );
  const trialsOf = of('trials').map((l) => l.sampleId);
  await rowsIn(db, { table: 'rm_trials', column: 'sample_id', values: trialsOf, orderBy: 'sample_id, attempt' }, (r) =>
    (found.get(lookupKey({ kind: 'trials', sampleId: r.sample_id })) as TrialRow[]).push(r),
  );
  // By sample (the primary key's first column), keeping the epochs asked for.
  const epochsOf = [...new Set(of('epoch').map((l) => l.sampleId))];
  await rowsIn(db, { table: 'rm_trial_epochs', column: 'sample_id', values: epochsOf }, (r) =>
    file({ kind: 'epoch', sampleId: r.sample_id, attempt: r.attempt, epoch: r.epoch }, r),
  );
  for (const [experimentId, asked] of groupBy(of('policyUpdate'), (l) => l.experimentId)) {
    const query = { table: 'rm_policy_updates', column: 'version', values: asked.map((l) => l.version) } as const;
    await rowsIn(db, { ...query, where: { experiment_id: experimentId } }, (r) =>
      file({ kind: 'policyUpdate', experimentId, version: r.version }, r),
    );
  }
  for (const [experimentId, asked] of groupBy(of('cell'), (l) => l.experimentId)) {
    const query = { table: 'rm_best_cells', column: 'cell_hash', values: asked.map((l) => l.cellHash) } as const;
    await rowsIn(db, { ...query, where: { experiment_id: experimentId } }, (r) =>
      file({ kind: 'cell', experimentId, cellHash: r.cell_hash }, r),
    );
  }
  for (const { experimentId } of of('topCell')) {
    const top = await db.get<BestCellRow>(
      'SELECT * FROM rm_best_cells WHERE experiment_id = ? ORDER BY reward DESC, idx LIMIT 1',
      [experimentId],
    );
    found.set(lookupKey({ kind: 'topCell', experimentId }), top ?? null);
  }
  return found;
}

interface RowsQuery<T extends ReadModelTable> {
  table: T;
  /** The rows whose column is one of the values… */
  column: string;
  values: readonly SqlValue[];
  /** …and whose other columns equal these. */
  where?: Readonly<Record<string, SqlValue>>;
  orderBy?: string;
}

/** Hands each row the query matches to `onRow`, in IN lists of CHUNK values. Names come from this module, never from data. */
async function rowsIn<T extends ReadModelTable>(
  db: SqliteConnection,
  { table, column, values, where = {}, orderBy }: RowsQuery<T>,
  onRow: (row: ReadModelRecord<T> & Entry) => void,
): Promise<void> {
  const fixed = Object.entries(where);
  const unique = [...new Set(values)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const chunk = unique.slice(i, i + CHUNK);
    const conditions = [...fixed.map(([name]) => `${name} = ?`), `${column} IN (${chunk.map(() => '?').join(', ')})`];
    const sql = `SELECT * FROM ${table} WHERE ${conditions.join(' AND ')}${orderBy ? ` ORDER BY ${orderBy}` : ''}`;
    for (const row of await db.all<ReadModelRecord<T> & Entry>(sql, [...fixed.map(([, value]) => value), ...chunk])) onRow(row);
  }
}

function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(keyOf(item));
    if (group) group.push(item);
    else groups.set(keyOf(item), [item]);
  }
  return groups;
}
