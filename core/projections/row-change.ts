import type { ReadModelColumns, ReadModelTable, StoredColumnValue } from './read-model-tables.ts';

/**
 * What one event changes in the rm_ tables, as plain data: the vocabulary of the read
 * models' "evolve" (read-model-changes.ts), which the projector compiles to SQL.
 *
 * A change that depends on the row as it stands (a counter, "the best so far", "only if
 * no later attempt exists") carries a SQL expression that SQLite evaluates when the change
 * is applied, instead of a value computed here from a row read earlier. Applying the log
 * in order then gives the same rows however the events were batched.
 */

export type SqlScalar = string | number | null;

/**
 * SQL evaluated when the change is applied. Unqualified column names are the changed
 * row's current values; in an upsert's `onConflict`, `excluded.<column>` is the row the
 * insert proposed. `params` fill the expression's `?` placeholders, in order.
 */
export interface SqlExpression {
  readonly sql: string;
  readonly params: readonly SqlScalar[];
}

export type ColumnValue = SqlScalar | SqlExpression;

/** Values by column: each what its column stores, or SQL that computes it. */
export type RowValues<T extends ReadModelTable> = {
  readonly [C in ReadModelColumns[T]]?: StoredColumnValue<T, C> | SqlExpression;
};
export type RowKey<T extends ReadModelTable> = { readonly [C in ReadModelColumns[T]]?: StoredColumnValue<T, C> };

/** Inserts a row; when its key (or another unique index) is already taken, nothing changes. */
export interface InsertChange<T extends ReadModelTable> {
  readonly op: 'insert';
  readonly table: T;
  readonly row: RowValues<T>;
}

/**
 * Inserts `row`, or — when a row with the same `conflictKey` exists — sets `onConflict` on
 * it, only where `onConflictWhere` holds. With `insertWhere`, nothing happens at all
 * unless that condition holds (e.g. a row the new one is derived from exists).
 */
export interface UpsertChange<T extends ReadModelTable> {
  readonly op: 'upsert';
  readonly table: T;
  readonly conflictKey: readonly ReadModelColumns[T][];
  readonly row: RowValues<T>;
  readonly onConflict: RowValues<T>;
  readonly onConflictWhere?: SqlExpression;
  readonly insertWhere?: SqlExpression;
}

/** Sets columns of the rows whose columns equal `key`, only where `where` holds; no row, no change. */
export interface UpdateChange<T extends ReadModelTable> {
  readonly op: 'update';
  readonly table: T;
  readonly key: RowKey<T>;
  readonly set: RowValues<T>;
  readonly where?: SqlExpression;
}

export type RowChange = {
  [T in ReadModelTable]: InsertChange<T> | UpsertChange<T> | UpdateChange<T>;
}[ReadModelTable];

export function sql(text: string, ...params: SqlScalar[]): SqlExpression {
  return { sql: text, params };
}

export function isSqlExpression(value: ColumnValue | undefined): value is SqlExpression {
  return typeof value === 'object' && value !== null;
}
