import { rowMapper } from './columns.ts';
import { decodeCursor as decodeJson, encodeCursor, InvalidCursorError } from './cursors.ts';
import type { SqliteConnection, SqlValue } from '../store/sqlite/connection.ts';
import { READ_MODEL_SCHEMA, SAMPLE_STATUSES, type ReadModelRecord, type SampleStatus } from './read-model-tables.ts';
import type { Sample } from './queries.ts';

/**
 * Keyset pages of an experiment's samples, in any of four orders, filtered, forwards
 * (first/after) or backwards (last/before). A cursor holds the sort key of its row, so page
 * k costs what page 1 costs: every query below is a range scan of one index of
 * migrations/0002 and 0003.
 */

export const SAMPLE_ORDERS = ['INDEX', 'REWARD_DESC', 'REWARD_ASC', 'COMPLETED_AT'] as const;
export type SampleOrder = (typeof SAMPLE_ORDERS)[number];

export interface SampleFilter {
  /** Any of these statuses. */
  statuses?: readonly SampleStatus[];
  /** Inclusive bounds; a sample without a reward matches neither. */
  minReward?: number;
  maxReward?: number;
  policyVersion?: number;
  cellHash?: string;
}

export interface SamplesPageOptions {
  orderBy: SampleOrder;
  filter?: SampleFilter;
  /** Forwards: `first` rows after `after` (the start without it). */
  first?: number;
  after?: string | null;
  /** Backwards: the `last` rows before `before` (the end without it). */
  last?: number;
  before?: string | null;
}

export { InvalidCursorError };

export interface Page<T> {
  rows: T[];
  /** Exact for both directions: rows matching the filter exist after the page. */
  hasNextPage: boolean;
  /** Exact for both directions: rows matching the filter exist before the page. */
  hasPreviousPage: boolean;
  /** Cursors of the first and last rows; null for an empty page. */
  startCursor: string | null;
  endCursor: string | null;
}

/** The sort key besides the index; every keyed order puts rows without a key last and breaks ties by index. */
interface OrderKey {
  column: 'reward' | 'finished_at';
  descending: boolean;
  kind: 'number' | 'string';
}

const ORDER_KEYS: Record<SampleOrder, OrderKey | null> = {
  INDEX: null,
  REWARD_DESC: { column: 'reward', descending: true, kind: 'number' },
  REWARD_ASC: { column: 'reward', descending: false, kind: 'number' },
  COMPLETED_AT: { column: 'finished_at', descending: false, kind: 'string' },
};

type KeyValue = number | string | null;

/** `r` is the key's value (the name older REWARD_DESC cursors used); INDEX cursors have none. */
interface Cursor {
  o: SampleOrder;
  r?: KeyValue;
  i: number;
}

type SampleRecord = ReadModelRecord<'rm_samples'>;
const toSample = rowMapper(READ_MODEL_SCHEMA.rm_samples.columns);

function keyOf(sample: Pick<Sample, 'reward' | 'finishedAt'>, key: OrderKey): KeyValue {
  return key.column === 'reward' ? sample.reward : sample.finishedAt;
}

/** The cursor of one sample in an order: what samplesPage returns for a page that starts or ends at it. */
export function sampleCursor(sample: Pick<Sample, 'index' | 'reward' | 'finishedAt'>, orderBy: SampleOrder): string {
  const key = ORDER_KEYS[orderBy];
  const cursor: Cursor = key ? { o: orderBy, r: keyOf(sample, key), i: sample.index } : { o: orderBy, i: sample.index };
  return encodeCursor(cursor);
}

function decodeCursor(text: string, orderBy: SampleOrder): Cursor {
  const c = decodeJson(text, 'a samples cursor');
  if (!Number.isSafeInteger(c.i)) throw new InvalidCursorError(text, 'not a samples cursor');
  if (c.o !== orderBy) throw new InvalidCursorError(text, `made for order ${String(c.o)}, not ${orderBy}`);
  const key = ORDER_KEYS[orderBy];
  if (!key) return { o: orderBy, i: c.i as number };
  const valid =
    c.r === null || (key.kind === 'number' ? typeof c.r === 'number' && Number.isFinite(c.r) : typeof c.r === 'string');
  if (!valid) throw new InvalidCursorError(text, 'not a samples cursor');
  return { o: orderBy, r: c.r as KeyValue, i: c.i as number };
}

/** One index range: rows where `where` holds, in `order`. */
interface Run {
  where: string;
  params: SqlValue[];
  order: string;
}

/**
 * The runs that together walk the order from a cursor (exclusive) to the end, or backwards
 * to the start. A mixed-direction key (reward DESC, idx ASC) cannot be range-scanned from an
 * OR of comparisons, so the walk is split: ties of the cursor's key, the keys beyond it, the
 * rows without a key.
 */
function runs(key: OrderKey | null, cursor: Cursor | null, backwards: boolean): Run[] {
  const idx = backwards ? 'idx DESC' : 'idx';
  const past = backwards ? '<' : '>';
  if (!key) return [{ where: cursor ? `idx ${past} ?` : '1', params: cursor ? [cursor.i] : [], order: idx }];
  const column = key.column;
  const keyDescending = key.descending !== backwards;
  const keyed = `${column} ${keyDescending ? 'DESC' : 'ASC'}, ${idx}`;
  const beyond = keyDescending ? '<' : '>';
  const unkeyed = (from: Cursor | null): Run => ({
    where: from ? `${column} IS NULL AND idx ${past} ?` : `${column} IS NULL`,
    params: from ? [from.i] : [],
    order: idx,
  });
  const keyedRuns = (from: Cursor | null): Run[] =>
    from === null || from.r === null || from.r === undefined
      ? [{ where: `${column} IS NOT NULL`, params: [], order: keyed }]
      : [
          { where: `${column} = ? AND idx ${past} ?`, params: [from.r, from.i], order: idx },
          { where: `${column} ${beyond} ?`, params: [from.r], order: keyed },
        ];
  if (!backwards) {
    if (cursor && (cursor.r === null || cursor.r === undefined)) return [unkeyed(cursor)];
    return [...keyedRuns(cursor), unkeyed(null)];
  }
  if (cursor && cursor.r !== null && cursor.r !== undefined) return keyedRuns(cursor);
  return [unkeyed(cursor), ...keyedRuns(null)];
}

/**
 * Which index a walk reads. Without statistics SQLite may prefer an index that serves a
 * filter's range and then sort every matching row (a reward range in index order), or one
 * that gives the order and scan every rewarded sample for the few of one cell (80 ms at
 * 54,000 samples). So the plan is chosen here: an equality filter that keeps few rows reads
 * its own index; anything else walks the order's index, reading rows until the page is full.
 */
const ORDER_INDEXES: Record<SampleOrder, string> = {
  INDEX: 'rm_samples_by_index',
  REWARD_DESC: 'rm_samples_by_reward',
  REWARD_ASC: 'rm_samples_by_reward_asc',
  COMPLETED_AT: 'rm_samples_by_finished',
};

function indexFor(orderBy: SampleOrder, filter: SampleFilter | undefined): string {
  if (filter?.cellHash !== undefined) return 'rm_samples_by_cell';
  if (filter?.policyVersion !== undefined) return 'rm_samples_by_policy';
  return ORDER_INDEXES[orderBy];
}

interface FilterSql {
  index: string;
  where: string;
  params: SqlValue[];
}

function filterSql(orderBy: SampleOrder, filter: SampleFilter | undefined): FilterSql {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (filter?.statuses && filter.statuses.length < SAMPLE_STATUSES.length) {
    parts.push('status IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.statuses));
  }
  const add = (part: string, value: SqlValue | undefined) => {
    if (value === undefined) return;
    parts.push(part);
    params.push(value);
  };
  add('reward >= ?', filter?.minReward);
  add('reward <= ?', filter?.maxReward);
  add('policy_version = ?', filter?.policyVersion);
  add('cell_hash = ?', filter?.cellHash);
  return { index: ` INDEXED BY ${indexFor(orderBy, filter)}`, where: parts.map((part) => ` AND ${part}`).join(''), params };
}

/** Up to `limit` rows from a cursor on, walking the runs in turn. */
async function walk(
  db: SqliteConnection,
  experimentId: string,
  walkRuns: Run[],
  filter: FilterSql,
  limit: number,
): Promise<SampleRecord[]> {
  const rows: SampleRecord[] = [];
  for (const run of walkRuns) {
    if (rows.length >= limit) break;
    rows.push(
      ...(await db.allPrepared<SampleRecord>(
        `SELECT * FROM rm_samples${filter.index} WHERE experiment_id = ? AND ${run.where}${filter.where} ORDER BY ${run.order} LIMIT ?`,
        [experimentId, ...run.params, ...filter.params, limit - rows.length],
      )),
    );
  }
  return rows;
}

/** Whether a matching row sits at the cursor itself or past it in this direction. */
async function anyAtOrBeyond(
  db: SqliteConnection,
  experimentId: string,
  key: OrderKey | null,
  cursor: Cursor,
  backwards: boolean,
  filter: FilterSql,
): Promise<boolean> {
  const keyMatch = key ? ` AND ${key.column} IS ?` : '';
  const at = await db.allPrepared<{ one: number }>(
    `SELECT 1 AS one FROM rm_samples WHERE experiment_id = ? AND idx = ?${keyMatch}${filter.where}`,
    [experimentId, cursor.i, ...(key ? [cursor.r ?? null] : []), ...filter.params],
  );
  return at.length > 0 || (await walk(db, experimentId, runs(key, cursor, backwards), filter, 1)).length > 0;
}

/**
 * One page of an experiment's samples. Forwards unless `last` is given; `after` goes with
 * `first` and `before` with `last`. Whether rows lie on the other side of the cursor is
 * asked too (one row, one index probe), so both of pageInfo's flags are exact.
 */
export async function samplesPage(
  db: SqliteConnection,
  experimentId: string,
  options: SamplesPageOptions,
): Promise<Page<Sample>> {
  const { orderBy } = options;
  if (!SAMPLE_ORDERS.includes(orderBy))
    throw new RangeError(`orderBy must be one of ${SAMPLE_ORDERS.join(', ')} (got ${orderBy})`);
  const backwards = options.last !== undefined;
  const count = backwards ? options.last! : (options.first ?? 20);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`page size must be a non-negative integer (got ${count})`);
  const cursorText = backwards ? options.before : options.after;
  const cursor = cursorText ? decodeCursor(cursorText, orderBy) : null;
  const key = ORDER_KEYS[orderBy];
  const filter = filterSql(orderBy, options.filter);
  const rows = await walk(db, experimentId, runs(key, cursor, backwards), filter, count + 1);
  const more = rows.length > count;
  const page = rows.slice(0, count);
  if (backwards) page.reverse();
  const behind = cursor !== null && (await anyAtOrBeyond(db, experimentId, key, cursor, !backwards, filter));
  const samples = page.map(toSample);
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    rows: samples,
    hasNextPage: backwards ? behind : more,
    hasPreviousPage: backwards ? more : behind,
    startCursor: first ? sampleCursor(first, orderBy) : null,
    endCursor: last ? sampleCursor(last, orderBy) : null,
  };
}
