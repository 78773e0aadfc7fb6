import { rowMapper, type DomainRow, type StoredRow } from './columns.ts';
import type { SqliteConnection, SqlValue } from '../store/sqlite/connection.ts';
import {
  READ_MODEL_SCHEMA,
  type ReadModelRecord,
  type ReadModelTable,
  type RewardSource,
  type TableColumns,
} from './read-model-tables.ts';

/**
 * Typed reads over the read models (migrations/0002_read_models.sql): rows as domain
 * records, their fields and conversions as read-model-tables.ts declares them. Every query
 * is served by an index; none scans an experiment's samples except rewardCurve, whose
 * answer is that whole list.
 */

/** A table's row as the domain reads it: camelCase fields, JSON parsed, 0/1 as booleans. */
type Fields<T extends ReadModelTable> = DomainRow<TableColumns<T>>;

export type Experiment = Fields<'rm_experiments'>;
export type Sample = Fields<'rm_samples'>;
export type Trial = Fields<'rm_trials'>;
export type Transfer = Fields<'rm_transfers'>;

type PpoStatistic = 'loss' | 'approxKl' | 'clipFraction' | 'entropy' | 'epochs';

export type PolicyUpdate = Omit<Fields<'rm_policy_updates'>, PpoStatistic> & {
  /** PPO statistics; null for strategies without them. */
  stats: { [S in PpoStatistic]: NonNullable<Fields<'rm_policy_updates'>[S]> } | null;
};

const { rm_experiments, rm_samples, rm_trials, rm_policy_updates, rm_transfers, rm_best_cells } = READ_MODEL_SCHEMA;

/** What bestCells selects: the best cell's row, and its sample's policy version and genotype. */
const BEST_CELL_COLUMNS = {
  ...rm_best_cells.columns,
  policy_version: rm_samples.columns.policy_version,
  genotype: rm_samples.columns.genotype,
};

/** `sampleId` is the sample that earned the cell's best reward (lowest index on a tie). */
export type BestCell = DomainRow<typeof BEST_CELL_COLUMNS>;

export interface RewardCurve {
  /** Every sample with a reward, by index. */
  samples: Array<{ index: number; sampleId: string; reward: number; source: RewardSource }>;
  /** Every policy update, by version. */
  updates: Array<{ policyVersion: number; meanReward: number; baselineBefore: number | null; baselineAfter: number | null }>;
}

export type SampleOrder = 'INDEX' | 'REWARD_DESC';

export interface SamplesPageOptions {
  first: number;
  /** endCursor of the previous page. */
  after?: string | null;
  orderBy: SampleOrder;
}

export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
  /** Cursor of the last row; null for an empty page. */
  endCursor: string | null;
}

/** A cursor that is not one samplesPage made for this order. */
export class InvalidCursorError extends RangeError {
  constructor(
    readonly cursor: string,
    reason: string,
  ) {
    super(`invalid cursor ${JSON.stringify(cursor)}: ${reason}`);
    this.name = 'InvalidCursorError';
  }
}

// ---- rows as stored -------------------------------------------------------------------------

type ExperimentRecord = ReadModelRecord<'rm_experiments'>;
type SampleRecord = ReadModelRecord<'rm_samples'>;
type TrialRecord = ReadModelRecord<'rm_trials'>;
type PolicyUpdateRecord = ReadModelRecord<'rm_policy_updates'>;
type TransferRecord = ReadModelRecord<'rm_transfers'>;

const toExperiment = rowMapper(rm_experiments.columns);
const toSample = rowMapper(rm_samples.columns);
const toTrial = rowMapper(rm_trials.columns);
const toTransfer = rowMapper(rm_transfers.columns);
const toBestCell = rowMapper(BEST_CELL_COLUMNS);
const policyUpdateFields = rowMapper(rm_policy_updates.columns);

/** The five statistics columns become one `stats` object, or null unless all five are set. */
function toPolicyUpdate(row: PolicyUpdateRecord): PolicyUpdate {
  const { loss, approxKl, clipFraction, entropy, epochs, ...update } = policyUpdateFields(row);
  const hasStats = loss !== null && approxKl !== null && clipFraction !== null && entropy !== null && epochs !== null;
  return { ...update, stats: hasStats ? { loss, approxKl, clipFraction, entropy, epochs } : null };
}

// ---- queries --------------------------------------------------------------------------------

/** Every experiment, oldest first. */
export async function listExperiments(db: SqliteConnection): Promise<Experiment[]> {
  const rows = await db.all<ExperimentRecord>('SELECT * FROM rm_experiments ORDER BY created_at, id');
  return rows.map(toExperiment);
}

export async function getExperiment(db: SqliteConnection, id: string): Promise<Experiment | null> {
  const [row] = await db.allPrepared<ExperimentRecord>('SELECT * FROM rm_experiments WHERE id = ?', [id]);
  return row ? toExperiment(row) : null;
}

/** Many samples in one query, for batch loaders: the map holds the ids that exist. */
export async function samplesByIds(db: SqliteConnection, sampleIds: readonly string[]): Promise<Map<string, Sample>> {
  const result = new Map<string, Sample>();
  if (sampleIds.length === 0) return result;
  // One JSON parameter instead of one per id: no limit on how many ids a loader batches.
  const rows = await db.allPrepared<SampleRecord>(
    'SELECT * FROM rm_samples WHERE sample_id IN (SELECT value FROM json_each(?))',
    [JSON.stringify([...new Set(sampleIds)])],
  );
  for (const row of rows) result.set(row.sample_id, toSample(row));
  return result;
}

/** The `top` best distinct cells (by canonical hash) of an experiment: highest reward first, ties to the lowest index. */
export async function bestCells(db: SqliteConnection, experimentId: string, top: number): Promise<BestCell[]> {
  assertCount('top', top);
  const rows = await db.allPrepared<StoredRow<typeof BEST_CELL_COLUMNS>>(
    `SELECT b.experiment_id, b.cell_hash, b.sample_id, b.idx, b.reward, s.policy_version, s.genotype
       FROM rm_best_cells b JOIN rm_samples s ON s.sample_id = b.sample_id
      WHERE b.experiment_id = ?
      ORDER BY b.reward DESC, b.idx
      LIMIT ?`,
    [experimentId, top],
  );
  return rows.map(toBestCell);
}

type Cursor = { o: 'INDEX'; i: number } | { o: 'REWARD_DESC'; r: number | null; i: number };

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string, orderBy: SampleOrder): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(text, 'not a samples cursor');
  }
  const c = parsed as { o?: unknown; i?: unknown; r?: unknown } | null;
  if (typeof c !== 'object' || c === null || !Number.isSafeInteger(c.i))
    throw new InvalidCursorError(text, 'not a samples cursor');
  if (c.o !== orderBy) throw new InvalidCursorError(text, `made for order ${String(c.o)}, not ${orderBy}`);
  const i = c.i as number;
  if (orderBy === 'INDEX') return { o: 'INDEX', i };
  if (c.r !== null && (typeof c.r !== 'number' || !Number.isFinite(c.r)))
    throw new InvalidCursorError(text, 'not a samples cursor');
  return { o: 'REWARD_DESC', r: c.r, i };
}

function cursorOf(row: SampleRecord, orderBy: SampleOrder): string {
  return sampleCursor({ index: row.idx, reward: row.reward }, orderBy);
}

/** The cursor of one sample in an order: what samplesPage returns as endCursor when the page ends at it. */
export function sampleCursor(sample: Pick<Sample, 'index' | 'reward'>, orderBy: SampleOrder): string {
  return encodeCursor(
    orderBy === 'INDEX' ? { o: 'INDEX', i: sample.index } : { o: 'REWARD_DESC', r: sample.reward, i: sample.index },
  );
}

/**
 * One page of an experiment's samples, by index or by reward (highest first, ties and
 * then unrewarded samples by index). Keyset pagination: the cursor holds the last row's
 * sort key, so page k costs what page 1 costs.
 */
export async function samplesPage(
  db: SqliteConnection,
  experimentId: string,
  options: SamplesPageOptions,
): Promise<Page<Sample>> {
  const { first, orderBy } = options;
  assertCount('first', first);
  if (orderBy !== 'INDEX' && orderBy !== 'REWARD_DESC')
    throw new RangeError(`orderBy must be INDEX or REWARD_DESC (got ${JSON.stringify(orderBy)})`);
  const cursor = options.after ? decodeCursor(options.after, orderBy) : null;
  const want = first + 1;
  const rows: SampleRecord[] = [];
  // Each query below is one range scan of an index; together they walk the order in three
  // runs (ties of the cursor's reward, lower rewards, no reward), because SQLite cannot
  // range-scan a mixed DESC/ASC key from an OR of comparisons.
  const run = async (where: string, params: SqlValue[], order: string): Promise<void> => {
    if (rows.length >= want) return;
    rows.push(
      ...(await db.allPrepared<SampleRecord>(
        `SELECT * FROM rm_samples WHERE experiment_id = ? AND ${where} ORDER BY ${order} LIMIT ?`,
        [experimentId, ...params, want - rows.length],
      )),
    );
  };
  if (cursor === null || cursor.o === 'INDEX') {
    if (orderBy === 'INDEX') {
      await run('idx > ?', [cursor?.i ?? -1], 'idx');
    } else {
      await run('reward IS NOT NULL', [], 'reward DESC, idx');
      await run('reward IS NULL', [], 'idx');
    }
  } else if (cursor.r === null) {
    await run('reward IS NULL AND idx > ?', [cursor.i], 'idx');
  } else {
    await run('reward = ? AND idx > ?', [cursor.r, cursor.i], 'idx');
    await run('reward < ?', [cursor.r], 'reward DESC, idx');
    await run('reward IS NULL', [], 'idx');
  }
  const page = rows.slice(0, first);
  const last = page[page.length - 1];
  return { rows: page.map(toSample), hasNextPage: rows.length > first, endCursor: last ? cursorOf(last, orderBy) : null };
}

/**
 * The trials (attempts, in order) of many samples in one query, for batch loaders. The
 * map has an entry for every id asked for, empty where a sample has no trial.
 */
export async function trialsForSamples(db: SqliteConnection, sampleIds: readonly string[]): Promise<Map<string, Trial[]>> {
  const result = new Map<string, Trial[]>(sampleIds.map((id) => [id, []]));
  if (sampleIds.length === 0) return result;
  // One JSON parameter instead of one per id: no limit on how many ids a loader batches.
  const rows = await db.allPrepared<TrialRecord>(
    'SELECT * FROM rm_trials WHERE sample_id IN (SELECT value FROM json_each(?)) ORDER BY sample_id, attempt',
    [JSON.stringify([...new Set(sampleIds)])],
  );
  for (const row of rows) result.get(row.sample_id)!.push(toTrial(row));
  return result;
}

/** An experiment's policy updates, by version. */
export async function policyUpdates(db: SqliteConnection, experimentId: string): Promise<PolicyUpdate[]> {
  const rows = await db.allPrepared<PolicyUpdateRecord>(
    'SELECT * FROM rm_policy_updates WHERE experiment_id = ? ORDER BY version',
    [experimentId],
  );
  return rows.map(toPolicyUpdate);
}

/** One member of an evolutionary population, as the read models hold it. */
export interface PopulationMember {
  sampleId: string;
  index: number;
  reward: number;
}

export interface PopulationAfterUpdate {
  /** How many members the population held (at most P). */
  size: number;
  /** The best `top` members: highest reward first, ties to the youngest (higher index), as the tournament breaks them. */
  best: PopulationMember[];
}

/**
 * Regularized evolution's population after policy updates, read from the samples without
 * replaying the controller. Update v appended batches 0..v-1 (indices below v × batchSize)
 * in index order, and an update waits for every reward of its batch, so the population it
 * left is the last P rewarded samples below v × batchSize. One query covers every update
 * asked for (the span of their windows, an index range scan), so a page listing all
 * updates costs one scan.
 */
export async function populationsAfterUpdates(
  db: SqliteConnection,
  experimentId: string,
  sizes: { batchSize: number; populationSize: number },
  requests: ReadonlyArray<{ version: number; top: number }>,
): Promise<PopulationAfterUpdate[]> {
  if (requests.length === 0) return [];
  for (const { version, top } of requests) {
    assertCount('version', version);
    assertCount('top', top);
  }
  const ends = requests.map(({ version }) => version * sizes.batchSize);
  const to = ends.reduce((a, b) => Math.max(a, b), 0);
  const nearest = ends.reduce((a, b) => Math.min(a, b), to);
  // From the P-th rewarded sample below the nearest end: the last batch may be short, so a
  // window is not simply [end - P, end).
  const rows = await db.allPrepared<{ idx: number; sample_id: string; reward: number }>(
    `SELECT idx, sample_id, reward FROM rm_samples
      WHERE experiment_id = ? AND reward IS NOT NULL AND idx < ?
        AND idx >= (SELECT COALESCE(MIN(idx), 0) FROM
              (SELECT idx FROM rm_samples WHERE experiment_id = ? AND reward IS NOT NULL AND idx < ? ORDER BY idx DESC LIMIT ?))
      ORDER BY idx`,
    [experimentId, to, experimentId, nearest, sizes.populationSize],
  );
  const members = rows.map((r): PopulationMember => ({ sampleId: r.sample_id, index: r.idx, reward: r.reward }));
  return requests.map(({ top }, i) => {
    const end = lowerBound(members, ends[i]!);
    const population = members.slice(Math.max(0, end - sizes.populationSize), end);
    const best = population.sort((a, b) => b.reward - a.reward || b.index - a.index).slice(0, top);
    return { size: population.length, best };
  });
}

/** The first position in `members` (sorted by index) whose index is >= `index`. */
function lowerBound(members: readonly PopulationMember[], index: number): number {
  let low = 0;
  let high = members.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (members[middle]!.index < index) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Rewards by sample index, and mean reward and baseline by policy update: what the dashboard draws. */
export async function rewardCurve(db: SqliteConnection, experimentId: string): Promise<RewardCurve> {
  const samples = await db.allPrepared<{ idx: number; sample_id: string; reward: number; reward_source: RewardSource }>(
    'SELECT idx, sample_id, reward, reward_source FROM rm_samples WHERE experiment_id = ? AND reward IS NOT NULL ORDER BY idx',
    [experimentId],
  );
  const updates = await db.allPrepared<{
    version: number;
    mean_reward: number;
    baseline_before: number | null;
    baseline_after: number | null;
  }>(
    'SELECT version, mean_reward, baseline_before, baseline_after FROM rm_policy_updates WHERE experiment_id = ? ORDER BY version',
    [experimentId],
  );
  return {
    samples: samples.map((s) => ({ index: s.idx, sampleId: s.sample_id, reward: s.reward, source: s.reward_source })),
    updates: updates.map((u) => ({
      policyVersion: u.version,
      meanReward: u.mean_reward,
      baselineBefore: u.baseline_before,
      baselineAfter: u.baseline_after,
    })),
  };
}

/** Every transfer run, oldest request first. */
export async function listTransfers(db: SqliteConnection): Promise<Transfer[]> {
  const rows = await db.all<TransferRecord>('SELECT * FROM rm_transfers ORDER BY requested_at, transfer_id');
  return rows.map(toTransfer);
}

export async function getTransfer(db: SqliteConnection, transferId: string): Promise<Transfer | null> {
  const row = await db.get<TransferRecord>('SELECT * FROM rm_transfers WHERE transfer_id = ?', [transferId]);
  return row ? toTransfer(row) : null;
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer (got ${value})`);
}
