import { rowMapper, type DomainRow, type StoredRow } from './columns.ts';
import type { SqliteConnection } from '../store/sqlite/connection.ts';
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
export type TrialEpoch = Fields<'rm_trial_epochs'>;

type PpoStatistic = 'loss' | 'approxKl' | 'clipFraction' | 'entropy' | 'epochs';

export type PolicyUpdate = Omit<Fields<'rm_policy_updates'>, PpoStatistic> & {
  /** PPO statistics; null for strategies without them. */
  stats: { [S in PpoStatistic]: NonNullable<Fields<'rm_policy_updates'>[S]> } | null;
};

const { rm_experiments, rm_samples, rm_trials, rm_trial_epochs, rm_policy_updates, rm_transfers, rm_best_cells } =
  READ_MODEL_SCHEMA;

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

// ---- rows as stored -------------------------------------------------------------------------

type ExperimentRecord = ReadModelRecord<'rm_experiments'>;
type SampleRecord = ReadModelRecord<'rm_samples'>;
type TrialRecord = ReadModelRecord<'rm_trials'>;
type TrialEpochRecord = ReadModelRecord<'rm_trial_epochs'>;
type PolicyUpdateRecord = ReadModelRecord<'rm_policy_updates'>;
type TransferRecord = ReadModelRecord<'rm_transfers'>;

const toExperiment = rowMapper(rm_experiments.columns);
const toSample = rowMapper(rm_samples.columns);
const toTrial = rowMapper(rm_trials.columns);
const toTrialEpoch = rowMapper(rm_trial_epochs.columns);
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

/** A trial attempt's key, as `<sampleId>#<attempt>` (the GraphQL Trial id). */
export const trialKey = (trial: { sampleId: string; attempt: number }): string => `${trial.sampleId}#${trial.attempt}`;

/**
 * The per-epoch metrics of many trial attempts in one query, for batch loaders: by
 * trialKey, an entry (by epoch, maybe empty) for every attempt asked for.
 */
export async function epochsForTrials(
  db: SqliteConnection,
  trials: ReadonlyArray<{ sampleId: string; attempt: number }>,
): Promise<Map<string, TrialEpoch[]>> {
  const result = new Map<string, TrialEpoch[]>(trials.map((trial) => [trialKey(trial), []]));
  if (trials.length === 0) return result;
  const rows = await db.allPrepared<TrialEpochRecord>(
    'SELECT * FROM rm_trial_epochs WHERE sample_id IN (SELECT value FROM json_each(?)) ORDER BY sample_id, attempt, epoch',
    [JSON.stringify([...new Set(trials.map((trial) => trial.sampleId))])],
  );
  for (const row of rows) result.get(trialKey({ sampleId: row.sample_id, attempt: row.attempt }))?.push(toTrialEpoch(row));
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
