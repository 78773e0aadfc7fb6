import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createExperiment } from '../../core/runtime/controller-loop.ts';
import { openSqliteStore, type SqliteEventStore } from '../../core/store/sqlite/sqlite-store.ts';
import { testSearchConfig } from '../support/search-config.ts';
import { launchChromium, NO_CHROMIUM } from '../support/chromium.ts';
import { serveStore, type ServedStore } from '../support/served-store.ts';

// The page is checked in a real browser (test/support/chromium.ts).
const skip = NO_CHROMIUM;

const EXPERIMENT = 'offline';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);

describe('GraphiQL in a browser without a network', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let store: SqliteEventStore;
  let served: ServedStore;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const refused: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    const launching = launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'nasnet-graphiql-browser-'));
    const path = join(dir, 'store.db');
    store = await openSqliteStore(path);
    await createExperiment(store, {
      experimentId: EXPERIMENT,
      config: testSearchConfig(),
      seed: 1,
      codeVersion: 'test',
      writerId: 'test',
    });
    served = await serveStore(store, path, { allowedHosts: [...LOCAL_HOSTS], logging: false });
    base = served.base;

    browser = await launching;
    // Routed for the whole context, so the page's workers are held to it as well as the page.
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.on('request', (request) => requested.push(request.url()));
    await context.route(
      (url) => !LOCAL_HOSTS.has(url.hostname),
      (route) => {
        refused.push(route.request().url());
        return route.abort('internetdisconnected');
      },
    );
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await served?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders the editor with the default query, runs it and shows the result, asking nothing of any other host', async () => {
    await page.goto(`${base}/graphql`);
    const editor = page.locator('.graphiql-query-editor .monaco-editor .view-lines');
    await editor.waitFor({ state: 'visible', timeout: 20_000 });
    await page.waitForFunction(
      // Monaco lays text out with no-break spaces.
      () =>
        /nasnet:\s+experiments,\s+samples/.test(document.querySelector('.graphiql-query-editor .view-lines')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    assert.equal(await page.title(), 'nasnet');

    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(
      (id) => document.querySelector('.graphiql-response')?.textContent?.includes(`"${id}"`),
      EXPERIMENT,
      {
        timeout: 10_000,
      },
    );
    const response = (await page.locator('.graphiql-response').textContent()) ?? '';
    assert.match(response, /"experiments"/);
    assert.doesNotMatch(response, /"errors"/);

    assert.deepEqual(refused, [], 'no request left this machine');
    const elsewhere = requested.filter((url) => !url.startsWith(`${base}/`) && !/^(data|blob):/.test(url));
    assert.deepEqual(elsewhere, []);
    // The page loaded its stylesheet, its script and Monaco's workers from this server.
    for (const file of ['graphiql.css', 'yoga-graphiql.umd.js', 'editor.worker.bundle.js'])
      assert.ok(
        requested.some((url) => url.startsWith(`${base}/graphiql/`) && url.includes(file)),
        `${file} in ${requested.join(' ')}`,
      );
    assert.deepEqual(pageErrors, []);
  });
});
