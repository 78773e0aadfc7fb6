import { rowMapper } from './columns.ts';
import { decodeCursor, encodeCursor, InvalidCursorError } from './cursors.ts';

export { InvalidCursorError };
import type { SqliteConnection, SqlValue } from '../store/sqlite/connection.ts';
import { READ_MODEL_SCHEMA, type ExperimentStatus, type ReadModelRecord } from './read-model-tables.ts';
import type { Experiment } from './queries.ts';

/** Keyset pages of the experiments, oldest or newest first, filtered by status, strategy and trainer. */

export const EXPERIMENT_ORDERS = ['CREATED_AT', 'CREATED_AT_DESC'] as const;
export type ExperimentOrder = (typeof EXPERIMENT_ORDERS)[number];

export interface ExperimentFilter {
  statuses?: readonly ExperimentStatus[];
  strategy?: string;
  trainer?: string;
}

export interface ExperimentsPageOptions {
  first: number;
  after?: string | null;
  orderBy: ExperimentOrder;
  filter?: ExperimentFilter;
}

export interface ExperimentsPage {
  rows: Experiment[];
  hasNextPage: boolean;
  /** Whether matching experiments come before the cursor (false without one). */
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

const toExperiment = rowMapper(READ_MODEL_SCHEMA.rm_experiments.columns);

export function experimentCursor(experiment: Pick<Experiment, 'createdAt' | 'id'>, orderBy: ExperimentOrder): string {
  return encodeCursor({ o: orderBy, c: experiment.createdAt, id: experiment.id });
}

function decode(text: string, orderBy: ExperimentOrder): { c: string; id: string } {
  const cursor = decodeCursor(text, 'an experiments cursor');
  if (typeof cursor.c !== 'string' || typeof cursor.id !== 'string')
    throw new InvalidCursorError(text, 'not an experiments cursor');
  if (cursor.o !== orderBy) throw new InvalidCursorError(text, `made for order ${String(cursor.o)}, not ${orderBy}`);
  return { c: cursor.c, id: cursor.id };
}

function filterSql(filter: ExperimentFilter | undefined): { where: string[]; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter?.statuses) {
    where.push('status IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.statuses));
  }
  if (filter?.strategy !== undefined) {
    where.push('strategy = ?');
    params.push(filter.strategy);
  }
  if (filter?.trainer !== undefined) {
    where.push('trainer = ?');
    params.push(filter.trainer);
  }
  return { where, params };
}

/** Experiments are few (one per search), so a page is one query over the whole table, not an index range. */
export async function experimentsPage(db: SqliteConnection, options: ExperimentsPageOptions): Promise<ExperimentsPage> {
  const { first, orderBy } = options;
  if (!Number.isSafeInteger(first) || first < 0) throw new RangeError(`first must be a non-negative integer (got ${first})`);
  const descending = orderBy === 'CREATED_AT_DESC';
  const cursor = options.after ? decode(options.after, orderBy) : null;
  const filter = filterSql(options.filter);
  const where = [...filter.where];
  const params = [...filter.params];
  if (cursor) {
    where.push(`(created_at, id) ${descending ? '<' : '>'} (?, ?)`);
    params.push(cursor.c, cursor.id);
  }
  const direction = descending ? 'DESC' : 'ASC';
  const rows = await db.allPrepared<ReadModelRecord<'rm_experiments'>>(
    `SELECT * FROM rm_experiments ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at ${direction}, id ${direction} LIMIT ?`,
    [...params, first + 1],
  );
  let hasPreviousPage = false;
  if (cursor) {
    const before = [...filter.where, `(created_at, id) ${descending ? '>=' : '<='} (?, ?)`];
    const probe = await db.allPrepared<{ one: number }>(
      `SELECT 1 AS one FROM rm_experiments WHERE ${before.join(' AND ')} LIMIT 1`,
      [...filter.params, cursor.c, cursor.id],
    );
    hasPreviousPage = probe.length > 0;
  }
  const experiments = rows.slice(0, first).map(toExperiment);
  const head = experiments[0];
  const tail = experiments[experiments.length - 1];
  return {
    rows: experiments,
    hasNextPage: rows.length > first,
    hasPreviousPage,
    startCursor: head ? experimentCursor(head, orderBy) : null,
    endCursor: tail ? experimentCursor(tail, orderBy) : null,
  };
}
