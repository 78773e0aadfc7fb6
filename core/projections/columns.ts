/**
 * How a read-model column is declared: its kind (which fixes the SQL type, what the row
 * holds and what the domain record holds), the field it becomes in the domain record,
 * and whether it may be NULL. read-model-tables.ts declares every table with these, and
 * rowMapper turns stored rows into domain records by kind, so the code names each column
 * once (the migration is the other place, and a test holds the two together).
 */

export type ColumnKind = 'text' | 'enum' | 'integer' | 'real' | 'boolean' | 'json' | 'bigint';

export type SqlType = 'TEXT' | 'INTEGER' | 'REAL';

export interface Column<K extends ColumnKind = ColumnKind, V = unknown, F extends string = string, N extends boolean = boolean> {
  readonly kind: K;
  /** The field's name in the domain record. */
  readonly field: F;
  readonly nullable: N;
  /** For enum columns: the values the migration's CHECK constraint allows. */
  readonly values?: readonly string[];
  /** Never set: carries the domain value's type. */
  readonly domain?: V;
}

export type Columns = Readonly<Record<string, Column>>;

/** What the row holds, by kind; an enum holds its own union and is typed as such. */
interface StoredByKind {
  text: string;
  enum: string;
  integer: number;
  real: number;
  /** 0 or 1. */
  boolean: number;
  json: string;
  /** An integer beyond 2^53 (a global position) as decimal text: an INTEGER would round it to REAL. */
  bigint: string;
}

const SQL_TYPE: Record<ColumnKind, SqlType> = {
  text: 'TEXT',
  enum: 'TEXT',
  integer: 'INTEGER',
  real: 'REAL',
  boolean: 'INTEGER',
  json: 'TEXT',
  bigint: 'TEXT',
};

type OrNull<C extends Column, T> = C['nullable'] extends true ? T | null : T;

/** The value a row holds in column C, as the sqlite3 driver returns it. */
export type StoredValue<C extends Column> = OrNull<C, C extends Column<'enum', infer V> ? V : StoredByKind[C['kind']]>;

/** The value of column C in the domain record. */
export type DomainValue<C extends Column> = OrNull<C, C extends Column<ColumnKind, infer V> ? V : never>;

/** A row as stored (`SELECT *`): column names, stored values. */
export type StoredRow<Cs extends Columns> = { [C in keyof Cs]: StoredValue<Cs[C]> };

/** A row as the domain reads it: field names, decoded values. */
export type DomainRow<Cs extends Columns> = { -readonly [C in keyof Cs as Cs[C]['field']]: DomainValue<Cs[C]> };

export function sqlType(column: Column): SqlType {
  return SQL_TYPE[column.kind];
}

// ---- builders -------------------------------------------------------------------------------

export const text = <F extends string>(field: F): Column<'text', string, F, false> => ({ kind: 'text', field, nullable: false });

export const integer = <F extends string>(field: F): Column<'integer', number, F, false> => ({
  kind: 'integer',
  field,
  nullable: false,
});

export const real = <F extends string>(field: F): Column<'real', number, F, false> => ({ kind: 'real', field, nullable: false });

export const boolean = <F extends string>(field: F): Column<'boolean', boolean, F, false> => ({
  kind: 'boolean',
  field,
  nullable: false,
});

export const bigint = <F extends string>(field: F): Column<'bigint', bigint, F, false> => ({
  kind: 'bigint',
  field,
  nullable: false,
});

/** JSON text in the row, the parsed value (typed as V, not checked) in the domain record. */
export const json =
  <V>() =>
  <F extends string>(field: F): Column<'json', V, F, false> => ({ kind: 'json', field, nullable: false });

export const oneOf = <V extends string, F extends string>(field: F, values: readonly V[]): Column<'enum', V, F, false> => ({
  kind: 'enum',
  field,
  nullable: false,
  values,
});

export const nullable = <K extends ColumnKind, V, F extends string>(column: Column<K, V, F, false>): Column<K, V, F, true> => ({
  ...column,
  nullable: true,
});

// ---- decoding -------------------------------------------------------------------------------

type Decode = (stored: string | number) => unknown;

const same: Decode = (stored) => stored;

const DECODE: Record<ColumnKind, Decode> = {
  text: same,
  enum: same,
  integer: same,
  real: same,
  boolean: (stored) => stored !== 0,
  json: (stored) => JSON.parse(String(stored)),
  bigint: (stored) => BigInt(stored),
};

/** Turns stored rows of these columns into domain records; NULL stays null whatever the kind. */
export function rowMapper<Cs extends Columns>(columns: Cs): (row: StoredRow<Cs>) => DomainRow<Cs> {
  // Worked out once: pages of samples run this per row.
  const plan = Object.entries(columns).map(([name, column]) => ({ name, field: column.field, decode: DECODE[column.kind] }));
  return (row) => {
    const stored = row as Readonly<Record<string, string | number | null>>;
    const record: Record<string, unknown> = {};
    for (const { name, field, decode } of plan) {
      const value = stored[name] ?? null;
      record[field] = value === null ? null : decode(value);
    }
    return record as DomainRow<Cs>;
  };
}
