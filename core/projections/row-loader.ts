import type { SqliteConnection, SqlValue } from '../store/sqlite/connection.ts';
import type { Entry, Lookup } from './batch-fold.ts';
import { lookupKey } from './batch-fold.ts';
import type { ReadModelRecord, ReadModelTable } from './read-model-tables.ts';
import type { BestCellRow, TrialRow } from './read-model-view.ts';

/** Keys per IN list: well under SQLite's bound-parameter limit. */
const CHUNK = 500;

type Found = Map<string, Entry>;

/**
 * Reads the rows behind lookups a fold missed (batch-fold.ts), a few queries per table
 * rather than one per lookup. Every lookup asked gets an answer: null (or no trials) when
 * the database has no such row.
 */
export async function loadLookups(db: SqliteConnection, lookups: Iterable<Lookup>): Promise<Found> {
  const found: Found = new Map();
  const byKind = new Map<Lookup['kind'], Lookup[]>();
  for (const lookup of lookups) {
    found.set(lookupKey(lookup), lookup.kind === 'trials' ? [] : null);
    const list = byKind.get(lookup.kind) ?? [];
    list.push(lookup);
    byKind.set(lookup.kind, list);
  }
  const of = <K extends Lookup['kind']>(kind: K) => (byKind.get(kind) ?? []) as Extract<Lookup, { kind: K }>[];
  await rowsIn(
    db,
    found,
    'rm_experiments',
    'id',
    of('experiment').map((l) => l.id),
    (r) => ({ kind: 'experiment', id: r.id }),
  );
  await rowsIn(
    db,
    found,
    'rm_samples',
    'sample_id',
    of('sample').map((l) => l.sampleId),
    (r) => ({
      kind: 'sample',
      sampleId: r.sample_id,
    }),
  );
  await rowsIn(
    db,
    found,
    'rm_transfers',
    'transfer_id',
    of('transfer').map((l) => l.transferId),
    (r) => ({
      kind: 'transfer',
      transferId: r.transfer_id,
    }),
  );
  await loadTrials(db, found, of('trials'));
  const epochs = of('epoch');
  // Every epoch row of the samples asked about: a few rows each, and all of them true.
  await rowsIn(db, found, 'rm_trial_epochs', 'sample_id', unique(epochs.map((l) => l.sampleId)), (r) => ({
    kind: 'epoch',
    sampleId: r.sample_id,
    attempt: r.attempt,
    epoch: r.epoch,
  }));
  for (const [experimentId, versions] of groupBy(
    of('policyUpdate'),
    (l) => l.experimentId,
    (l) => l.version,
  ))
    await rowsIn(
      db,
      found,
      'rm_policy_updates',
      'version',
      versions,
      (r) => ({ kind: 'policyUpdate', experimentId, version: r.version }),
      {
        experiment_id: experimentId,
      },
    );
  for (const [experimentId, hashes] of groupBy(
    of('cell'),
    (l) => l.experimentId,
    (l) => l.cellHash,
  ))
    await rowsIn(
      db,
      found,
      'rm_best_cells',
      'cell_hash',
      hashes,
      (r) => ({ kind: 'cell', experimentId, cellHash: r.cell_hash }),
      {
        experiment_id: experimentId,
      },
    );
  for (const { experimentId } of of('topCell')) {
    const top = await db.get<BestCellRow>(
      'SELECT * FROM rm_best_cells WHERE experiment_id = ? ORDER BY reward DESC, idx LIMIT 1',
      [experimentId],
    );
    found.set(lookupKey({ kind: 'topCell', experimentId }), top ?? null);
  }
  return found;
}

/** Rows whose `column` is one of `values` (and whose `also` columns equal theirs), each filed under its lookup. */
async function rowsIn<T extends ReadModelTable>(
  db: SqliteConnection,
  found: Found,
  table: T,
  column: string,
  values: readonly SqlValue[],
  lookupOf: (row: ReadModelRecord<T>) => Lookup,
  also: Readonly<Record<string, SqlValue>> = {},
): Promise<void> {
  const fixed = Object.entries(also);
  for (let i = 0; i < values.length; i += CHUNK) {
    const chunk = values.slice(i, i + CHUNK);
    const where = [...fixed.map(([name]) => `${name} = ?`), `${column} IN (${chunk.map(() => '?').join(', ')})`];
    const params = [...fixed.map(([, value]) => value), ...chunk];
    for (const row of await db.all<ReadModelRecord<T>>(`SELECT * FROM ${table} WHERE ${where.join(' AND ')}`, params))
      found.set(lookupKey(lookupOf(row)), row as Entry);
  }
}

async function loadTrials(db: SqliteConnection, found: Found, lookups: readonly { sampleId: string }[]): Promise<void> {
  const ids = unique(lookups.map((l) => l.sampleId));
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const rows = await db.all<TrialRow>(
      `SELECT * FROM rm_trials WHERE sample_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY sample_id, attempt`,
      chunk,
    );
    for (const row of rows) {
      const key = lookupKey({ kind: 'trials', sampleId: row.sample_id });
      found.set(key, [...((found.get(key) as readonly TrialRow[] | undefined) ?? []), row]);
    }
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function groupBy<L, V>(items: readonly L[], keyOf: (item: L) => string, pick: (item: L) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(pick(item));
    else groups.set(key, [pick(item)]);
  }
  return groups;
}
