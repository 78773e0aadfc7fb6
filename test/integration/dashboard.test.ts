import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Request, Route } from 'playwright-core';
import { bestCells, getExperiment, policyUpdates, rewardCurve, trialsForSamples } from '../../core/projections/queries.ts';
import { samplesPage, type SamplesPageOptions } from '../../core/projections/sample-pages.ts';
import type { Projector } from '../../core/projections/sqlite-projector.ts';
import { createExperiment } from '../../core/runtime/controller-loop.ts';
import { runSearch } from '../../core/runtime/search.ts';
import { DEFAULT_TRIALS, type SearchConfig } from '../../core/runtime/search-config.ts';
import type { NasnetEvent } from '../../core/events/event.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import { openSqliteStore, type SqliteEventStore } from '../../core/store/sqlite/sqlite-store.ts';
import { OP_LABELS } from '../../graphql/dashboard/cell-layout.js';
import { SyntheticTrainer } from '../../plugins/trainers/synthetic/synthetic-trainer.ts';
import { simulateExperiment } from '../support/simulate.ts';
import { launchChromium, NO_CHROMIUM } from '../support/chromium.ts';
import { serveStore, type ServedStore } from '../support/served-store.ts';

// The page is checked in a real browser (test/support/chromium.ts).
const skip = NO_CHROMIUM;
/** NASNET_SCREENSHOT=1 rewrites docs/dashboard.png (the README's picture); CI leaves the repository alone. */
const SCREENSHOT =
  process.env.NASNET_SCREENSHOT === '1' ? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url)) : null;

const EXPERIMENT = 'dash';
// The screenshot wants a curve with a shape; the check itself is as good and faster with fewer samples.
const SAMPLES = SCREENSHOT ? 60 : 30;
const BATCH = 6;
/** The first run stops after this policy update; the rest arrives while the page is open. */
const STOP_AFTER_VERSION = SCREENSHOT ? 4 : 2;
const EPOCHS = 3;

const config: SearchConfig = {
  strategy: 'ppo',
  // A learning rate well above the paper's, so a few dozen synthetic samples show the controller learning.
  controller: { batchSize: BATCH, learningRate: 0.02 },
  samples: SAMPLES,
  trainer: 'synthetic',
  trainerOptions: {},
  dataset: 'none',
  network: { N: 1, filters: 4 },
  // Several epochs, so each attempt has a learning curve to show (the synthetic trainer's reward is the same).
  epochs: EPOCHS,
  training: {},
  reuse: true,
  trials: DEFAULT_TRIALS,
};

describe('the dashboard in a browser', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: SqliteConnection;
  let projector: Projector;
  let served: ServedStore;
  let base: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    // The browser starts while the search runs: two processes, two cores.
    const launching = launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'nasnet-dashboard-'));
    const path = join(dir, 'store.db');
    store = await openSqliteStore(path);
    await createExperiment(store, { experimentId: EXPERIMENT, config, seed: 7, codeVersion: 'test', writerId: 'test' });
    const stop = new AbortController();
    const first = await runSearch({
      store,
      experimentId: EXPERIMENT,
      writerId: 'test/1/a',
      plugin: new SyntheticTrainer({ targetSeed: 0, delayMs: 0, failEvery: 0 }),
      workers: 2,
      signal: stop.signal,
      tickMs: 20,
      onActivity: (activity) => {
        if (activity.kind === 'updated' && activity.policyVersion === STOP_AFTER_VERSION)
          stop.abort(new Error('the test stops here'));
      },
    });
    assert.equal(first.status, 'stopped');

    served = await serveStore(store, path, { logging: false });
    ({ base, readModels, projector } = served);

    browser = await launching;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    await served?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const count = (selector: string) => page.locator(selector).count();
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  const sampleRows = () => page.locator('#samples tbody tr.sample-row');
  const shownIndexes = () => sampleRows().evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-index'))));
  /** Waits until the table shows these samples, in this order. */
  const waitForRows = (ids: readonly string[]) =>
    page.waitForFunction(
      (expected) =>
        JSON.stringify(
          [...document.querySelectorAll('#samples tbody tr.sample-row')].map((row) => row.getAttribute('data-sample-id')),
        ) === expected,
      JSON.stringify(ids),
      { timeout: 10_000 },
    );
  /** The sample ids of a page as the read models give it: what the table must show. */
  const expectedIds = async (options: Partial<SamplesPageOptions>) =>
    (await samplesPage(readModels, EXPERIMENT, { orderBy: 'INDEX', first: 20, ...options })).rows.map((s) => s.sampleId);
  const filterInput = (name: string) => page.locator(`#sample-filters [name="${name}"]`);
  const waitForCount = (selector: string, expected: number, timeout = 10_000) =>
    page.waitForFunction(([s, n]) => document.querySelectorAll(s).length === n, [selector, expected] as const, { timeout });

  it('draws the reward curve, the best cells, the policy updates and the audit of a stored experiment', async () => {
    const curve = await rewardCurve(readModels, EXPERIMENT);
    const best = await bestCells(readModels, EXPERIMENT, 3);
    assert.ok(curve.samples.length >= STOP_AFTER_VERSION * BATCH && curve.samples.length < SAMPLES);
    assert.equal(curve.updates.length, STOP_AFTER_VERSION);

    await page.goto(`${base}/?experiment=${EXPERIMENT}`);
    await waitForCount('#reward-curve svg .sample-dot', curve.samples.length);
    assert.equal(await count('#reward-curve svg .mean-point'), STOP_AFTER_VERSION);
    assert.match(
      (await page.getAttribute('#reward-curve svg .mean-line', 'd')) ?? '',
      new RegExp(`^M[\\d.]+,[\\d.]+( L[\\d.]+,[\\d.]+){${STOP_AFTER_VERSION - 1}}$`),
    );
    assert.ok(await page.getAttribute('#reward-curve svg .baseline-line', 'd'));
    assert.deepEqual(await page.locator('#reward-curve .axis-title').allTextContents(), ['reward', 'sample index']);

    // Normal and reduction of each of the three best cells, every block drawn.
    await waitForCount('.cell-graph svg', 2 * best.length);
    for (const svg of await page.locator('.cell-graph svg').all()) {
      assert.equal(await svg.locator('[data-kind="combine"]').count(), 5);
      assert.equal(await svg.locator('[data-kind="op"]').count(), 10);
      assert.equal(await svg.locator('[data-kind="input"]').count(), 2);
      assert.equal(await svg.locator('[data-kind="output"]').count(), 1);
      assert.ok((await svg.locator('path.edge').count()) >= 21);
    }
    const drawnOps = await page
      .locator('.best-cell')
      .first()
      .locator('.cell-graph[data-cell="normal"] [data-kind="op"] text')
      .allTextContents();
    const bestOps = best[0]!.genotype.normal.flatMap(([opA, , opB]) => [OP_LABELS[opA], OP_LABELS[opB]]);
    assert.deepEqual(drawnOps.sort(), bestOps.sort(), 'the first drawing is the best cell');
    assert.equal(await page.getAttribute('.best-cell', 'data-sample-id'), best[0]!.sampleId);

    await waitForCount('#policy-updates table tbody tr', STOP_AFTER_VERSION);
    const updates = await policyUpdates(readModels, EXPERIMENT);
    const newest = page.locator('#policy-updates table tbody tr').first();
    assert.equal(await newest.getAttribute('data-version'), String(STOP_AFTER_VERSION));
    assert.ok((await newest.textContent())!.includes(updates.at(-1)!.paramsDigestAfter.slice(0, 12)));
    await page.waitForFunction(() => document.querySelector('#audit-status')?.textContent?.startsWith('audit passed'), null, {
      timeout: 10_000,
    });
    // The audit says what it covered: every update in the table and every sample drawn.
    const { sampleCount } = (await getExperiment(readModels, EXPERIMENT))!;
    assert.equal(
      await page.textContent('#audit-status'),
      `audit passed: ${STOP_AFTER_VERSION} updates and ${sampleCount} samples reproduced`,
    );
    assert.equal(await page.getAttribute('#audit-status', 'class'), 'audit passed');

    // The samples table's first page: every sample so far, up to a page, by index.
    await waitForCount('#samples tbody tr.sample-row', Math.min(20, sampleCount));
    assert.deepEqual(await shownIndexes(), range(0, Math.min(20, sampleCount)));
    assert.equal(await page.isDisabled('#samples-next'), sampleCount <= 20);

    const listed = page.locator(`#experiment-list [data-experiment-id="${EXPERIMENT}"]`);
    assert.equal(await listed.getAttribute('aria-current'), 'true');
    assert.match((await listed.textContent())!, /stopped/);
    assert.deepEqual(pageErrors, []);
  });

  it('follows the search live through the subscription: the rest of the samples appear without a reload', async () => {
    await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === 'live', null, { timeout: 10_000 });
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    // Audits are held back until the search has ended, so the page must show the first audit's
    // pass next to more updates than it covered: as stale, never as current.
    const heldAudits: Route[] = [];
    const graphqlPosts = (url: URL) => url.pathname === '/graphql' && url.search === '';
    const holdAudits = (route: Route) =>
      route.request().postData()?.includes('audit(') ? void heldAudits.push(route) : route.continue();
    await page.route(graphqlPosts, holdAudits);
    const releaseAudits = async () => {
      for (const route of heldAudits.splice(0)) await route.continue();
      await page.unroute(graphqlPosts, holdAudits);
    };
    try {
      await followResumedSearch(heldAudits);
    } finally {
      await releaseAudits();
    }
    const updates = SAMPLES / BATCH;
    await page.waitForFunction(
      ([n, s]) =>
        document.querySelector('#audit-status')?.textContent === `audit passed: ${n} updates and ${s} samples reproduced`,
      [updates, SAMPLES] as const,
      { timeout: 10_000 },
    );
    assert.equal(await page.getAttribute('#audit-status', 'class'), 'audit passed');
    assert.equal(
      await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
      true,
      'the page was not reloaded',
    );
    assert.match((await page.locator(`#experiment-list [data-experiment-id="${EXPERIMENT}"]`).textContent())!, /completed/);
    assert.deepEqual(pageErrors, []);
  });

  /** Resumes the search to its end and checks the page follows it, the first audit shown as stale. */
  async function followResumedSearch(heldAudits: Route[]): Promise<void> {
    const resumed = await runSearch({
      store,
      experimentId: EXPERIMENT,
      writerId: 'test/1/b',
      plugin: new SyntheticTrainer({ targetSeed: 0, delayMs: 10, failEvery: 0 }),
      workers: 2,
      signal: new AbortController().signal,
      tickMs: 20,
    });
    assert.equal(resumed.status, 'completed');
    const updates = SAMPLES / BATCH;
    await waitForCount('#reward-curve svg .sample-dot', SAMPLES);
    await waitForCount('#policy-updates table tbody tr', updates);
    // The samples table follows too: a full first page and a next one.
    await waitForCount('#samples tbody tr.sample-row', 20);
    await page.waitForFunction(() => !(document.querySelector('#samples-next') as HTMLButtonElement).disabled, null, {
      timeout: 10_000,
    });
    await page.waitForFunction(() => document.querySelector('[data-fact="status"]')?.textContent === 'completed', null, {
      timeout: 10_000,
    });
    await page.waitForFunction(() => document.querySelector('#audit-status')?.classList.contains('stale'), null, {
      timeout: 10_000,
    });
    assert.match(
      (await page.textContent('#audit-status'))!,
      new RegExp(`^audit passed for ${STOP_AFTER_VERSION} of ${updates} updates and \\d+ of ${SAMPLES} samples — re-auditing…$`),
    );
    // The page asks again as soon as the search has ended (the route sees the request a moment later).
    for (let waited = 0; heldAudits.length === 0 && waited < 10_000; waited += 50) await page.waitForTimeout(50);
    assert.equal(heldAudits.length, 1, 'the stale audit is being re-run');
  }

  it('pages through the samples with Previous and Next, sorts and filters them, and keeps the view in the URL', async () => {
    await waitForRows(await expectedIds({}));
    assert.deepEqual(await shownIndexes(), range(0, 20));
    assert.equal(await page.isDisabled('#samples-previous'), true, 'no page before the first');
    await page.click('#samples-next');
    await page.waitForFunction(() => document.querySelector('#samples tbody tr')?.getAttribute('data-index') === '20', null, {
      timeout: 10_000,
    });
    assert.deepEqual(await shownIndexes(), range(20, Math.min(40, SAMPLES)));
    assert.equal(await page.isDisabled('#samples-previous'), false);
    assert.equal(await page.isDisabled('#samples-next'), SAMPLES <= 40, 'a next page only while samples remain');
    assert.ok(new URL(page.url()).searchParams.get('after'), 'the page is in the URL');
    await page.click('#samples-previous');
    await page.waitForFunction(() => document.querySelector('#samples tbody tr')?.getAttribute('data-index') === '0', null, {
      timeout: 10_000,
    });
    assert.deepEqual(await shownIndexes(), range(0, 20));
    assert.equal(await page.isDisabled('#samples-previous'), true);
    assert.equal(await page.isDisabled('#samples-next'), false);
    assert.equal(new URL(page.url()).search, `?experiment=${EXPERIMENT}`, 'back at the start: the plain first page');

    // Highest reward first, as the server orders them.
    await filterInput('order').selectOption('REWARD_DESC');
    await waitForRows(await expectedIds({ orderBy: 'REWARD_DESC' }));
    const rewards = await sampleRows().evaluateAll((rows) =>
      rows.map((row) => Number(row.querySelector('.reward')?.textContent)),
    );
    assert.deepEqual(
      rewards,
      [...rewards].sort((a, b) => b - a),
      'rewards descend',
    );

    // Completed samples of reward 0.3 or more: fewer rows, every one of them matching.
    await filterInput('status').and(page.locator('[value="COMPLETED"]')).check();
    await filterInput('minReward').fill('0.3');
    await filterInput('minReward').press('Enter');
    const matching = await expectedIds({
      orderBy: 'REWARD_DESC',
      filter: { statuses: ['completed'], minReward: 0.3 },
      first: SAMPLES,
    });
    assert.ok(matching.length > 0 && matching.length < SAMPLES, 'the filter keeps some samples, not all');
    const filtered = matching.slice(0, 20);
    await waitForRows(filtered);
    for (const row of await sampleRows().all()) {
      assert.equal(await row.locator('.status').textContent(), 'completed');
      assert.ok(Number(await row.locator('.reward').textContent()) >= 0.3);
    }
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('experiment'), EXPERIMENT);
    assert.equal(url.searchParams.get('order'), 'REWARD_DESC');
    assert.equal(url.searchParams.get('status'), 'COMPLETED');
    assert.equal(url.searchParams.get('minReward'), '0.3');

    // The link shows the same table, the controls set as they were.
    await page.goto(url.href);
    await waitForRows(filtered);
    assert.equal(await filterInput('order').inputValue(), 'REWARD_DESC');
    assert.equal(await filterInput('status').and(page.locator('[value="COMPLETED"]')).isChecked(), true);
    assert.equal(await filterInput('minReward').inputValue(), '0.3');

    // A minimum above the maximum: the server's message, naming the field, instead of the table.
    await filterInput('maxReward').fill('0.1');
    await filterInput('maxReward').press('Enter');
    await page.locator('#samples-error').waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await page.textContent('#samples-error'))!, /filter\.minReward/);
    assert.equal(await sampleRows().count(), 0);
    assert.equal(await page.isVisible('#samples .pager'), false);
    assert.equal(await filterInput('minReward').getAttribute('aria-invalid'), 'true');
    assert.equal(new URL(page.url()).searchParams.get('maxReward'), '0.1');

    // A cell hash in the table filters by that cell (and opens no drawer).
    await page.click('#clear-filters');
    await waitForRows(await expectedIds({ orderBy: 'REWARD_DESC' }));
    const hash = (await sampleRows().first().locator('.cell-hash').getAttribute('data-cell-hash'))!;
    await sampleRows().first().locator('.cell-hash').click();
    await waitForRows(await expectedIds({ orderBy: 'REWARD_DESC', filter: { cellHash: hash } }));
    assert.equal(await filterInput('cellHash').inputValue(), hash);
    assert.equal(new URL(page.url()).searchParams.get('cellHash'), hash);
    assert.equal(await page.isVisible('#sample-drawer'), false);
    assert.deepEqual(pageErrors, []);
  });

  it("opens a sample's training attempts in a drawer, and Escape closes it", async () => {
    // From a link, so this does not hang on what the test before left on the page.
    await page.goto(`${base}/?experiment=${EXPERIMENT}&order=REWARD_DESC`);
    await waitForRows(await expectedIds({ orderBy: 'REWARD_DESC' }));
    const row = sampleRows()
      .filter({ has: page.locator('.status-completed') })
      .first();
    const sampleId = (await row.getAttribute('data-sample-id'))!;
    // On its index: the row's middle may be its cell hash, which filters instead.
    await row.locator('td').first().click();
    const drawer = page.locator('#sample-drawer');
    await drawer.locator('.attempt').first().waitFor({ timeout: 10_000 });
    const trials = (await trialsForSamples(readModels, [sampleId])).get(sampleId)!;
    assert.ok(trials.length >= 1);
    assert.equal(await drawer.locator('.attempt').count(), trials.length);
    assert.match((await drawer.locator('#drawer-title').textContent())!, new RegExp(`${sampleId}$`));
    assert.equal(await drawer.locator('.attempt [data-fact="worker"]').first().textContent(), trials[0]!.workerId);
    assert.match((await drawer.locator('pre[data-cell="normal"]').textContent())!, /^b0 = /);
    const columns = await drawer.locator('.attempt table.metrics th').allTextContents();
    assert.equal(columns[0], 'epoch');
    assert.ok(columns.includes('loss') && columns.includes('validationAccuracy'), columns.join());
    assert.equal(await drawer.locator('.attempt table.metrics tbody tr').count(), EPOCHS * trials.length);
    assert.match(
      (await drawer.locator('.attempt .sparkline path').first().getAttribute('d'))!,
      /^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){2}$/,
    );
    assert.ok((await drawer.locator('.attempt-events li').count()) >= 2, 'the attempt has its events');
    assert.equal(await row.getAttribute('aria-current'), 'true');

    if (SCREENSHOT) {
      await mkdir(join(SCREENSHOT, '..'), { recursive: true });
      // Wide enough for the table's columns beside the drawer.
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.screenshot({ path: SCREENSHOT });
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden', timeout: 10_000 });
    assert.equal(await row.getAttribute('aria-current'), null);
    assert.deepEqual(pageErrors, []);
  });

  it('selects another experiment from the list and shows its failed audit in red', async () => {
    // The controller's events of a short search, one reward raised after the fact.
    const log = simulateExperiment({
      experimentId: 'tampered',
      strategy: 'ppo',
      seed: 3,
      batches: 2,
      controller: { batchSize: 3 },
      reward: () => 0.5,
    });
    const reward = log.filter((e) => e.type === 'RewardReported')[1]!;
    (reward.data as { reward: number }).reward = 0.75;
    for (const { stream, position: _position, revision: _revision, ...event } of log)
      await store.append(stream, [event as NasnetEvent], 'any');
    await projector.caughtUp();

    const entry = page.locator('#experiment-list [data-experiment-id="tampered"]');
    await entry.waitFor({ timeout: 10_000 });
    await entry.click();
    await page.waitForURL(/\?experiment=tampered$/);
    await page.waitForFunction(() => document.querySelector('#audit-status')?.classList.contains('failed'), null, {
      timeout: 10_000,
    });
    const status = (await page.textContent('#audit-status'))!;
    assert.match(
      status,
      /^audit failed at position \d+ \(PolicyUpdated\): reward of tampered-1 in PolicyUpdated v1 — expected 0\.75, found 0\.5$/,
    );
    assert.equal(await page.$eval('#audit-status', (node) => getComputedStyle(node).color), 'rgb(198, 40, 40)');
    await waitForCount('#reward-curve svg .sample-dot', 6);
    assert.equal(await entry.getAttribute('aria-current'), 'true');
    assert.deepEqual(pageErrors, []);
  });

  it('says an unknown experiment does not exist, offers the others and audits nothing', async () => {
    // Markup and a length no experiment id has: shown as text, cut short.
    const unknown = `<img src=x onerror="window.injected=1">${'x'.repeat(300)}`;
    const audits: string[] = [];
    const onRequest = (request: Request) => {
      if (request.method() === 'POST' && request.postData()?.includes('audit(')) audits.push(request.postData()!);
    };
    page.on('request', onRequest);
    try {
      await page.goto(`${base}/?experiment=${encodeURIComponent(unknown)}`);
      const notFound = page.locator('#not-found');
      await notFound.waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(await page.textContent('#not-found .not-found-message'), `no such experiment: ${unknown.slice(0, 80)}…`);
      assert.equal(await page.locator('img').count(), 0);
      assert.equal(await page.evaluate(() => (window as unknown as { injected?: number }).injected), undefined);
      assert.equal(await page.isVisible('#experiment'), false, 'no empty panels');
      assert.equal(await page.isVisible('#audit-status'), false);
      assert.equal(await page.isVisible('#error'), false);
      const choices = notFound.locator('a[data-experiment-id]');
      assert.deepEqual(await choices.evaluateAll((links) => links.map((a) => a.getAttribute('data-experiment-id'))), [
        'tampered',
        EXPERIMENT,
      ]);
      // Live and settled, and still no audit asked for.
      await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === 'live', null, { timeout: 10_000 });
      await page.waitForTimeout(500);
      assert.deepEqual(audits, []);

      await notFound.locator(`a[data-experiment-id="${EXPERIMENT}"]`).click();
      await page.waitForURL(new RegExp(`\\?experiment=${EXPERIMENT}$`));
      await page.waitForFunction(() => document.querySelector('#audit-status')?.textContent?.startsWith('audit passed'), null, {
        timeout: 10_000,
      });
      assert.equal(await notFound.isVisible(), false);
      assert.equal(await page.textContent('#experiment-header h2'), `Experiment ${EXPERIMENT}`);
      assert.equal(audits.length, 1);
    } finally {
      page.off('request', onRequest);
    }
    assert.deepEqual(pageErrors, []);
  });

  it('shows the newest experiment with rewards by default, not a newer one that has none', async () => {
    await createExperiment(store, { experimentId: 'empty', config, seed: 9, codeVersion: 'test', writerId: 'test' });
    await projector.caughtUp();
    await page.goto(`${base}/`);
    await page.locator('#experiment-list [data-experiment-id="empty"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      () => document.querySelector('#experiment-header h2')?.textContent?.startsWith('Experiment '),
      null,
      {
        timeout: 10_000,
      },
    );
    assert.equal(await page.textContent('#experiment-header h2'), 'Experiment tampered');
    assert.equal(await page.getAttribute('#experiment-list [data-experiment-id="tampered"]', 'aria-current'), 'true');
    assert.equal(await page.getAttribute('#experiment-list [data-experiment-id="empty"]', 'aria-current'), null);
    await waitForCount('#reward-curve svg .sample-dot', 6);
    assert.deepEqual(pageErrors, []);
  });
});
