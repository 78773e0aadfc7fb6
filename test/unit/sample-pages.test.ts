import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { experimentsPage, type ExperimentOrder } from '../../core/projections/experiment-pages.ts';
import { SAMPLE_STATUSES, type RewardSource, type SampleStatus } from '../../core/projections/read-model-tables.ts';
import {
  InvalidCursorError,
  SAMPLE_ORDERS,
  sampleCursor,
  samplesPage,
  type SampleFilter,
  type SampleOrder,
} from '../../core/projections/sample-pages.ts';
import { rewardCurvePoints } from '../../core/projections/reward-curve.ts';
import { openReadModels } from '../../core/projections/sqlite-projector.ts';

// The pager is checked against a model: the same rows sorted and filtered in memory. Rows
// go straight into rm_samples; the projector that fills it is tested in projections.test.ts.

const db = await openReadModels(':memory:');
after(() => db.close());

interface Row {
  index: number;
  reward: number | null;
  status: SampleStatus;
  policyVersion: number;
  cellHash: string;
  finishedAt: string | null;
  /** Default: `trained` when there is a reward. */
  source?: RewardSource;
}

// Few distinct values, so that ties (the hard part of keyset paging) are common.
const rowArbitrary = fc.record({
  reward: fc.option(fc.constantFrom(0.1, 0.25, 0.5, 0.75, 0.9), { nil: null, freq: 4 }),
  status: fc.constantFrom(...SAMPLE_STATUSES),
  policyVersion: fc.integer({ min: 0, max: 3 }),
  cellHash: fc.constantFrom('aa', 'bb', 'cc'),
  finishedMinute: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 4 }),
});

const filterArbitrary: fc.Arbitrary<SampleFilter> = fc.record(
  {
    statuses: fc.uniqueArray(fc.constantFrom(...SAMPLE_STATUSES), { maxLength: 3 }),
    minReward: fc.constantFrom(0.25, 0.5),
    maxReward: fc.constantFrom(0.5, 0.9),
    policyVersion: fc.integer({ min: 0, max: 3 }),
    cellHash: fc.constantFrom('aa', 'bb'),
  },
  { requiredKeys: [] },
);

let experimentCount = 0;

async function insert(rows: Row[]): Promise<string> {
  const experimentId = `e${experimentCount++}`;
  for (const row of rows) {
    await db.run(
      `INSERT INTO rm_samples (sample_id, experiment_id, idx, policy_version, cell_hash, genotype, actions, log_prob, entropy,
         status, reward, reward_source, reused_from, sampled_at, finished_at)
       VALUES (?, ?, ?, ?, ?, '{}', '[]', 0, 0, ?, ?, ?, NULL, '2026-01-01T00:00:00.000Z', ?)`,
      [
        `${experimentId}-${row.index}`,
        experimentId,
        row.index,
        row.policyVersion,
        row.cellHash,
        row.status,
        row.reward,
        row.reward === null ? null : (row.source ?? 'trained'),
        row.finishedAt,
      ],
    );
  }
  return experimentId;
}

function modelOrder(rows: Row[], orderBy: SampleOrder, filter: SampleFilter): number[] {
  const kept = rows.filter(
    (row) =>
      (!filter.statuses || filter.statuses.includes(row.status)) &&
      (filter.minReward === undefined || (row.reward !== null && row.reward >= filter.minReward)) &&
      (filter.maxReward === undefined || (row.reward !== null && row.reward <= filter.maxReward)) &&
      (filter.policyVersion === undefined || row.policyVersion === filter.policyVersion) &&
      (filter.cellHash === undefined || row.cellHash === filter.cellHash),
  );
  const key = (row: Row): number | string | null =>
    orderBy === 'COMPLETED_AT' ? row.finishedAt : orderBy === 'INDEX' ? 0 : row.reward;
  const sign = orderBy === 'REWARD_DESC' ? -1 : 1;
  return kept
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === null || kb === null) return ka === kb ? a.index - b.index : ka === null ? 1 : -1;
      if (ka !== kb) return (ka < kb ? -1 : 1) * sign;
      return a.index - b.index;
    })
    .map((row) => row.index);
}

describe('samples pages', () => {
  it('walk every matching sample once, in order, forwards and backwards, with exact page flags', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArbitrary, { maxLength: 30 }),
        fc.constantFrom(...SAMPLE_ORDERS),
        filterArbitrary,
        fc.integer({ min: 1, max: 7 }),
        async (drawn, orderBy, filter, size) => {
          const rows: Row[] = drawn.map((row, index) => ({
            index,
            reward: row.reward,
            status: row.status,
            policyVersion: row.policyVersion,
            cellHash: row.cellHash,
            finishedAt: row.finishedMinute === null ? null : `2026-01-01T00:0${row.finishedMinute}:00.000Z`,
          }));
          const experimentId = await insert(rows);
          const expected = modelOrder(rows, orderBy, filter);

          const forwards: number[] = [];
          let after: string | null = null;
          for (let pages = 0; ; pages++) {
            const page: Awaited<ReturnType<typeof samplesPage>> = await samplesPage(db, experimentId, {
              orderBy,
              filter,
              first: size,
              after,
            });
            assert.equal(page.hasPreviousPage, forwards.length > 0);
            forwards.push(...page.rows.map((s) => s.index));
            assert.equal(page.hasNextPage, forwards.length < expected.length);
            if (!page.hasNextPage) break;
            after = page.endCursor;
            assert.ok(pages < 40);
          }
          assert.deepEqual(forwards, expected);

          const backwards: number[] = [];
          let before: string | null = null;
          for (let pages = 0; ; pages++) {
            const page: Awaited<ReturnType<typeof samplesPage>> = await samplesPage(db, experimentId, {
              orderBy,
              filter,
              last: size,
              before,
            });
            assert.equal(page.hasNextPage, backwards.length > 0);
            backwards.unshift(...page.rows.map((s) => s.index));
            assert.equal(page.hasPreviousPage, backwards.length < expected.length);
            if (!page.hasPreviousPage) break;
            before = page.startCursor;
            assert.ok(pages < 40);
          }
          assert.deepEqual(backwards, expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('read older REWARD_DESC cursors, and refuse cursors of another order or none at all', async () => {
    const experimentId = await insert([
      { index: 0, reward: 0.5, status: 'completed', policyVersion: 0, cellHash: 'aa', finishedAt: null },
      { index: 1, reward: 0.9, status: 'completed', policyVersion: 0, cellHash: 'aa', finishedAt: null },
    ]);
    const legacy = Buffer.from(JSON.stringify({ o: 'REWARD_DESC', r: 0.9, i: 1 })).toString('base64url');
    const page = await samplesPage(db, experimentId, { orderBy: 'REWARD_DESC', first: 5, after: legacy });
    assert.deepEqual(
      page.rows.map((s) => s.index),
      [0],
    );
    const byIndex = await samplesPage(db, experimentId, { orderBy: 'INDEX', first: 1 });
    await assert.rejects(samplesPage(db, experimentId, { orderBy: 'REWARD_ASC', first: 1, after: byIndex.endCursor }), {
      name: 'InvalidCursorError',
      message: /made for order INDEX, not REWARD_ASC/,
    });
    const timeCursor = Buffer.from(JSON.stringify({ o: 'COMPLETED_AT', r: 5, i: 1 })).toString('base64url');
    await assert.rejects(
      samplesPage(db, experimentId, { orderBy: 'COMPLETED_AT', first: 1, after: timeCursor }),
      InvalidCursorError,
    );
    await assert.rejects(samplesPage(db, experimentId, { orderBy: 'INDEX', last: 1, before: 'bm9wZQ' }), InvalidCursorError);
  });

  it("read through an index in every order, direction and filter: the order's, or a selective filter's", async () => {
    // The statements samplesPage really sends, captured and explained.
    const sent: Array<{ sql: string; params: unknown[] }> = [];
    const spy = Object.create(db) as typeof db;
    spy.allPrepared = <Row>(sql: string, params: readonly unknown[] = []) => {
      sent.push({ sql, params: [...params] });
      return db.allPrepared<Row>(sql, params as never);
    };
    const cursorRow = { index: 3, reward: 0.5, finishedAt: '2026-01-01T00:03:00.000Z' };
    const filters: SampleFilter[] = [
      {},
      { statuses: ['failed'] },
      { minReward: 0.25 },
      { cellHash: 'aa' },
      { policyVersion: 2, minReward: 0.1 },
    ];
    for (const orderBy of SAMPLE_ORDERS) {
      for (const filter of filters) {
        const cursor = sampleCursor(cursorRow, orderBy);
        sent.length = 0;
        await samplesPage(spy, 'e0', { orderBy, filter, first: 20, after: cursor });
        await samplesPage(spy, 'e0', { orderBy, filter, last: 20, before: cursor });
        await samplesPage(spy, 'e0', { orderBy, filter, first: 20 });
        for (const { sql, params } of sent) {
          const plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params as never))
            .map((step) => step.detail)
            .join('; ');
          const what = `${orderBy} ${JSON.stringify(filter)}: ${sql} → ${plan}`;
          assert.doesNotMatch(plan, /SCAN rm_samples(?! USING)/, what);
          // The probe for the cursor's own row is a lookup by the unique (experiment, index).
          if (/idx = \?/.test(sql))
            assert.match(plan, /USING (COVERING )?INDEX rm_samples_by_index \(experiment_id=\? AND idx=\?\)/, what);
          else if (filter.cellHash) assert.match(plan, /USING INDEX rm_samples_by_cell /, what);
          else if (filter.policyVersion !== undefined) assert.match(plan, /USING INDEX rm_samples_by_policy /, what);
          // Otherwise the order's own index: rows come in order and the walk stops when the page is full.
          else assert.doesNotMatch(plan, /TEMP B-TREE/, what);
        }
      }
    }
  });
});

describe('experiments pages', () => {
  const experiments = [
    ['x1', 'completed', 'ppo', 'synthetic', '2026-01-01T00:00:00.000Z'],
    ['x2', 'running', 'evolution', 'tfjs', '2026-01-02T00:00:00.000Z'],
    ['x0', 'stopped', 'ppo', 'tfjs', '2026-01-02T00:00:00.000Z'],
    ['x3', 'completed', 'random', 'synthetic', '2026-01-03T00:00:00.000Z'],
    ['x4', 'completed', 'ppo', 'torch', '2026-01-04T00:00:00.000Z'],
  ] as const;

  it('page oldest or newest first, filtered, with exact flags', async () => {
    for (const [id, status, strategy, trainer, createdAt] of experiments) {
      await db.run(
        `INSERT INTO rm_experiments (id, status, created_at, config, seed, strategy, trainer, dataset, updated_at)
         VALUES (?, ?, ?, '{}', 0, ?, ?, NULL, ?)`,
        [id, status, createdAt, strategy, trainer, createdAt],
      );
    }
    const walk = async (orderBy: ExperimentOrder, filter = {}, first = 2) => {
      const ids: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: Awaited<ReturnType<typeof experimentsPage>> = await experimentsPage(db, { first, after, orderBy, filter });
        assert.equal(page.hasPreviousPage, ids.length > 0);
        ids.push(...page.rows.map((e) => e.id));
        if (!page.hasNextPage) return ids;
        after = page.endCursor;
      }
    };
    assert.deepEqual(await walk('CREATED_AT'), ['x1', 'x0', 'x2', 'x3', 'x4']);
    assert.deepEqual(await walk('CREATED_AT_DESC'), ['x4', 'x3', 'x2', 'x0', 'x1']);
    assert.deepEqual(await walk('CREATED_AT', { statuses: ['completed'] }, 1), ['x1', 'x3', 'x4']);
    assert.deepEqual(await walk('CREATED_AT_DESC', { strategy: 'ppo', trainer: 'tfjs' }), ['x0']);
    assert.deepEqual(await walk('CREATED_AT', { statuses: [] }), []);
    const page = await experimentsPage(db, { first: 1, orderBy: 'CREATED_AT' });
    await assert.rejects(
      experimentsPage(db, { first: 1, orderBy: 'CREATED_AT_DESC', after: page.endCursor }),
      InvalidCursorError,
    );
  });
});

describe('reward curve points', () => {
  it('carry the best trained or reused reward so far, thinned to evenly spaced points in SQL', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.option(fc.record({ reward: fc.integer({ min: 0, max: 20 }), failure: fc.boolean() }), { nil: null, freq: 4 }),
          {
            maxLength: 40,
          },
        ),
        fc.option(fc.integer({ min: 2, max: 12 }), { nil: null }),
        async (drawn, maxPoints) => {
          const experimentId = await insert(
            drawn.map((row, index) => ({
              index,
              reward: row === null ? null : row.reward / 20,
              status: row === null ? 'sampled' : row.failure ? 'failed' : 'completed',
              source: row?.failure ? 'failure' : 'trained',
              policyVersion: 0,
              cellHash: 'aa',
              finishedAt: null,
            })),
          );
          let best: number | null = null;
          const full = drawn.flatMap((row, index) => {
            if (row === null) return [];
            const reward = row.reward / 20;
            if (!row.failure && (best === null || reward > best)) best = reward;
            return [{ index, reward, failure: row.failure, bestSoFar: best }];
          });
          const expected =
            maxPoints === null || full.length <= maxPoints
              ? full
              : Array.from({ length: maxPoints }, (_, k) => full[Math.round(k * ((full.length - 1) / (maxPoints - 1)))]!);
          const points = await rewardCurvePoints(db, experimentId, maxPoints);
          assert.deepEqual(
            points.map((p) => ({ index: p.index, reward: p.reward, failure: p.source === 'failure', bestSoFar: p.bestSoFar })),
            expected,
          );
          assert.ok(points.every((p) => p.sampleId === `${experimentId}-${p.index}`));
        },
      ),
      { numRuns: 60 },
    );
  });
});
