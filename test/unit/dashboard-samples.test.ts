import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_SAMPLES_VIEW,
  formatMetric,
  metricsTable,
  nextPageView,
  PAGE_SIZE,
  previousPageView,
  sameView,
  sampleFilterInput,
  samplesVariables,
  samplesViewFromParams,
  samplesViewToParams,
  settledView,
  shortHash,
  sparkline,
  withFilter,
  type PageInfo,
  type SamplesView,
} from '../../graphql/dashboard/samples-view.js';

const view = (changes: Partial<SamplesView> = {}): SamplesView => ({ ...DEFAULT_SAMPLES_VIEW, ...changes });
const fromQuery = (query: string) => samplesViewFromParams(new URLSearchParams(query));
const pageInfo = (changes: Partial<PageInfo> = {}): PageInfo => ({
  hasNextPage: true,
  hasPreviousPage: true,
  startCursor: 'start',
  endCursor: 'end',
  ...changes,
});

describe('the dashboard samples table: URL and filter', () => {
  it('reads order, statuses, bounds, version, cell hash and a cursor from the URL', () => {
    assert.deepEqual(fromQuery('experiment=e&order=REWARD_DESC&status=COMPLETED,reused&minReward=0.3&maxReward=0.9'), {
      ...DEFAULT_SAMPLES_VIEW,
      order: 'REWARD_DESC',
      statuses: ['COMPLETED', 'REUSED'],
      minReward: 0.3,
      maxReward: 0.9,
    });
    assert.deepEqual(fromQuery('policyVersion=2&cellHash=abc123&after=CUR'), {
      ...DEFAULT_SAMPLES_VIEW,
      policyVersion: 2,
      cellHash: 'abc123',
      after: 'CUR',
    });
  });

  it('takes statuses repeated or comma-separated, once each, and drops what is not a status', () => {
    assert.deepEqual(fromQuery('status=failed&status=COMPLETED,FAILED,bogus').statuses, ['COMPLETED', 'FAILED']);
  });

  it('falls back to the defaults for an unknown order, a bound that is not a number, and an empty field', () => {
    assert.deepEqual(fromQuery('order=SIDEWAYS&minReward=abc&maxReward=&cellHash=%20'), DEFAULT_SAMPLES_VIEW);
    assert.deepEqual(fromQuery(''), DEFAULT_SAMPLES_VIEW);
  });

  it('keeps one cursor: after wins over before', () => {
    const both = fromQuery('after=A&before=B');
    assert.equal(both.after, 'A');
    assert.equal(both.before, null);
    assert.equal(fromQuery('before=B').before, 'B');
  });

  it('writes only what differs from the default, keeps other parameters, and reads back the same view', () => {
    assert.equal(samplesViewToParams(DEFAULT_SAMPLES_VIEW).toString(), '');
    const shown = view({ order: 'REWARD_DESC', statuses: ['COMPLETED'], minReward: 0.3, before: 'B' });
    const params = samplesViewToParams(shown, new URLSearchParams('experiment=dash&minReward=0.1&after=OLD'));
    assert.equal(params.toString(), 'experiment=dash&order=REWARD_DESC&status=COMPLETED&minReward=0.3&before=B');
    assert.deepEqual(samplesViewFromParams(params), shown);
  });

  it('builds the filter input from the set fields only, null when nothing is filtered', () => {
    assert.equal(sampleFilterInput(DEFAULT_SAMPLES_VIEW), null);
    assert.deepEqual(sampleFilterInput(view({ statuses: ['FAILED'], maxReward: 0, cellHash: 'h' })), {
      status: ['FAILED'],
      maxReward: 0,
      cellHash: 'h',
    });
    assert.deepEqual(sampleFilterInput(view({ minReward: 0.5, maxReward: 0.1 })), { minReward: 0.5, maxReward: 0.1 });
  });

  it('compares views by what they would write', () => {
    assert.ok(sameView(view({ statuses: ['COMPLETED'] }), fromQuery('status=completed')));
    assert.ok(!sameView(view(), view({ after: 'A' })));
  });

  it('shortens a cell hash for the table', () => {
    assert.equal(shortHash('6f29773edcd35057aa'), '6f29773edc');
  });
});

describe('the dashboard samples table: pages', () => {
  it('asks for the first page forwards, a later page after its cursor and an earlier one before it', () => {
    assert.deepEqual(samplesVariables('e', DEFAULT_SAMPLES_VIEW), {
      id: 'e',
      orderBy: 'INDEX',
      filter: null,
      first: PAGE_SIZE,
      after: null,
    });
    const next = nextPageView(view({ order: 'REWARD_DESC' }), pageInfo());
    assert.deepEqual(next, view({ order: 'REWARD_DESC', after: 'end' }));
    assert.deepEqual(samplesVariables('e', next), {
      id: 'e',
      orderBy: 'REWARD_DESC',
      filter: null,
      first: PAGE_SIZE,
      after: 'end',
    });
    const previous = previousPageView(next, pageInfo({ startCursor: 's2' }));
    assert.deepEqual(previous, view({ order: 'REWARD_DESC', before: 's2' }));
    assert.deepEqual(samplesVariables('e', previous), {
      id: 'e',
      orderBy: 'REWARD_DESC',
      filter: null,
      last: PAGE_SIZE,
      before: 's2',
    });
  });

  it('refetches the page the user is on: the same variables for the same view', () => {
    const onPage = view({ statuses: ['COMPLETED'], after: 'c20' });
    assert.deepEqual(samplesVariables('e', onPage), samplesVariables('e', samplesViewFromParams(samplesViewToParams(onPage))));
  });

  it('starts at the first page when the order or the filter changes (the old cursors mean nothing there)', () => {
    assert.deepEqual(withFilter(view({ after: 'A' }), { minReward: 0.2 }), view({ minReward: 0.2 }));
    assert.deepEqual(withFilter(view({ before: 'B' }), { order: 'COMPLETED_AT' }), view({ order: 'COMPLETED_AT' }));
  });

  it('stays put on an empty page (no cursor to move by)', () => {
    const empty = pageInfo({ startCursor: null, endCursor: null });
    assert.deepEqual(nextPageView(view(), empty), view());
    assert.deepEqual(previousPageView(view({ after: 'A' }), empty), view({ after: 'A' }));
  });

  it('turns a page back onto the start into the plain first page, and leaves other pages alone', () => {
    const back = view({ before: 'B' });
    assert.deepEqual(settledView(back, pageInfo({ hasPreviousPage: false })), view());
    assert.equal(settledView(back, pageInfo()), back);
    const forwards = view({ after: 'A' });
    assert.equal(settledView(forwards, pageInfo({ hasPreviousPage: false })), forwards);
  });
});

describe('the dashboard trial drawer: metrics', () => {
  it('puts epoch first, then every metric any epoch reported, rows by epoch', () => {
    const table = metricsTable([
      { epoch: 2, metrics: { loss: 0.4, validationAccuracy: 0.6, lr: 0.01 } },
      { epoch: 1, metrics: { loss: 0.5, validationAccuracy: 0.5 } },
    ]);
    assert.deepEqual(table.columns, ['epoch', 'loss', 'validationAccuracy', 'lr']);
    assert.deepEqual(table.rows, [
      { epoch: 1, values: [0.5, 0.5, undefined] },
      { epoch: 2, values: [0.4, 0.6, 0.01] },
    ]);
  });

  it('takes metrics that are not an object as none', () => {
    const table = metricsTable([
      { epoch: 1, metrics: null },
      { epoch: 2, metrics: [1, 2] },
    ]);
    assert.deepEqual(table.columns, ['epoch']);
    assert.deepEqual(table.rows, [
      { epoch: 1, values: [] },
      { epoch: 2, values: [] },
    ]);
  });

  it('formats numbers to 4 significant digits, a missing value as a dash, and anything else as short text', () => {
    assert.equal(formatMetric(0.123456), '0.1235');
    assert.equal(formatMetric(3), '3');
    assert.equal(formatMetric(1234567), '1235000');
    assert.equal(formatMetric(undefined), '—');
    assert.equal(formatMetric(null), '—');
    assert.equal(formatMetric('nan'), 'nan');
    assert.equal(formatMetric({ a: 'x'.repeat(60) }).length, 41);
  });

  it('draws the first metric with two numeric epochs, scaled to its range, higher up', () => {
    const table = metricsTable([
      { epoch: 1, metrics: { note: 'warmup', acc: 0.2 } },
      { epoch: 2, metrics: { note: 'x', acc: 0.6 } },
      { epoch: 3, metrics: { acc: 0.4 } },
    ]);
    const line = sparkline(table, 100, 20);
    assert.ok(line);
    assert.equal(line.name, 'acc');
    assert.equal(line.d, 'M2.0,18.0 L50.0,2.0 L98.0,10.0');
    assert.deepEqual([line.low, line.high], [0.2, 0.6]);
  });

  it('draws a flat series through the middle and nothing for a single epoch', () => {
    const flat = sparkline(
      metricsTable([
        { epoch: 1, metrics: { loss: 1 } },
        { epoch: 2, metrics: { loss: 1 } },
      ]),
      100,
      20,
    );
    assert.equal(flat?.d, 'M2.0,10.0 L98.0,10.0');
    assert.equal(sparkline(metricsTable([{ epoch: 1, metrics: { loss: 1 } }])), null);
    assert.equal(sparkline(metricsTable([])), null);
  });
});
