import type { SqliteConnection } from '../store/sqlite/connection.ts';
import type { RewardSource } from './read-model-tables.ts';

export interface RewardCurvePoint {
  index: number;
  sampleId: string;
  reward: number;
  source: RewardSource;
  /** The best trained or reused reward up to this index (failure rewards never count). */
  bestSoFar: number | null;
}

/**
 * Every rewarded sample of an experiment by index with the best reward so far, or — with
 * `maxPoints` — that many evenly spaced points of it (the first and last always kept; the
 * best so far still counts every sample). SQLite computes the running best and picks the
 * points over the covering index of migrations/0004, so a thinned curve of a 54,000-sample
 * experiment moves `maxPoints` rows to JavaScript, not 54,000.
 */
export async function rewardCurvePoints(
  db: SqliteConnection,
  experimentId: string,
  maxPoints: number | null = null,
): Promise<RewardCurvePoint[]> {
  const positions = maxPoints === null ? null : await thinnedPositions(db, experimentId, maxPoints);
  const rows = await db.allPrepared<{
    idx: number;
    sample_id: string;
    reward: number;
    reward_source: RewardSource;
    best: number | null;
  }>(
    `WITH curve AS (
       SELECT idx, sample_id, reward, reward_source,
              MAX(CASE WHEN reward_source <> 'failure' THEN reward END) OVER (ORDER BY idx ROWS UNBOUNDED PRECEDING) AS best,
              ROW_NUMBER() OVER (ORDER BY idx) - 1 AS k
         FROM rm_samples INDEXED BY rm_samples_curve
        WHERE experiment_id = ? AND reward IS NOT NULL)
     SELECT idx, sample_id, reward, reward_source, best FROM curve
      ${positions ? 'WHERE k IN (SELECT value FROM json_each(?))' : ''}
      ORDER BY idx`,
    positions ? [experimentId, JSON.stringify(positions)] : [experimentId],
  );
  return rows.map((r) => ({ index: r.idx, sampleId: r.sample_id, reward: r.reward, source: r.reward_source, bestSoFar: r.best }));
}

/** The ranks (among rewarded samples) of `maxPoints` evenly spaced points; null when the curve is no longer than that. */
async function thinnedPositions(db: SqliteConnection, experimentId: string, maxPoints: number): Promise<number[] | null> {
  if (!Number.isSafeInteger(maxPoints) || maxPoints < 2) throw new RangeError(`maxPoints must be at least 2 (got ${maxPoints})`);
  const [count] = await db.allPrepared<{ n: number }>(
    'SELECT count(*) AS n FROM rm_samples INDEXED BY rm_samples_curve WHERE experiment_id = ? AND reward IS NOT NULL',
    [experimentId],
  );
  const n = count?.n ?? 0;
  if (n <= maxPoints) return null;
  const stride = (n - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, k) => Math.round(k * stride));
}
