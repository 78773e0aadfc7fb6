import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { experimentsPage, type ExperimentOrder } from '../../core/projections/experiment-pages.ts';
import { SAMPLE_STATUSES, type SampleStatus } from '../../core/projections/read-model-tables.ts';
import {
  InvalidCursorError,
  SAMPLE_ORDERS,
  samplesPage,
  type SampleFilter,
  type SampleOrder,
} from '../../core/projections/sample-pages.ts';
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
        row.reward === null ? null : 'trained',
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

  it('use an index for every order and filter, never a scan of the table or a sort of all rows', async () => {
    const filters: Array<[string, string]> = [
      ['', ''],
      ['AND status IN (SELECT value FROM json_each(\'["failed"]\'))', ''],
      ['AND cell_hash = ?', 'x'],
      ['AND policy_version = ?', '3'],
    ];
    // The runs samplesPage walks, forwards and backwards.
    const walks: Array<[string, string]> = [
      ['idx > 3', 'idx'],
      ['idx < 3', 'idx DESC'],
      ['reward IS NOT NULL', 'reward DESC, idx'],
      ['reward < 0.5', 'reward DESC, idx'],
      ['reward > 0.5', 'reward ASC, idx DESC'],
      ['reward > 0.5', 'reward ASC, idx'],
      ['reward < 0.5', 'reward DESC, idx DESC'],
      ['reward IS NULL AND idx > 3', 'idx'],
      ['finished_at > ?', 'finished_at ASC, idx'],
      ['finished_at < ?', 'finished_at DESC, idx DESC'],
    ];
    for (const [where, order] of walks) {
      for (const [filter, value] of filters) {
        const params = ['e0', ...(where.includes('?') ? ['t'] : []), ...(value ? [value] : [])];
        const plan = await db.all<{ detail: string }>(
          `EXPLAIN QUERY PLAN SELECT * FROM rm_samples WHERE experiment_id = ? AND ${where} ${filter} ORDER BY ${order} LIMIT 21`,
          params,
        );
        const text = plan.map((step) => step.detail).join('; ');
        assert.match(text, /USING INDEX/, `${where} ${filter}: ${text}`);
        assert.doesNotMatch(text, /SCAN rm_samples(?! USING)|TEMP B-TREE/, `${where} ${filter}: ${text}`);
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
