import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openReadModels } from '../../core/projections/sqlite-projector.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import { openSqliteStore, type SqliteEventStore } from '../../core/store/sqlite/sqlite-store.ts';
import { createGraphqlServer, type GraphqlServer } from '../../graphql/server.ts';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let dir: string;
let store: SqliteEventStore;
let readModels: SqliteConnection;
let server: GraphqlServer;
let http: Server;
let port: number;

/** A request sent as written: node:http does not normalise the path, so `..` reaches the server as sent. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nasnet-graphiql-'));
  store = await openSqliteStore(join(dir, 'store.db'));
  readModels = await openReadModels(join(dir, 'store.db'));
  server = createGraphqlServer({ store, readModels, allowedHosts: ['127.0.0.1', 'localhost'], logging: false });
  http = createServer(server.handle);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as AddressInfo).port;
});

after(async () => {
  await server?.close();
  http?.closeAllConnections();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await readModels?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GraphiQL without a network', () => {
  it('serves a page at /graphql that names no other host, only files of this server', async () => {
    const page = await get('/graphql', { accept: 'text/html' });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<title>nasnet<\/title>/);
    assert.doesNotMatch(page.body, /https?:\/\//);
    assert.doesNotMatch(page.body, /unpkg|jsdelivr|githubusercontent/);
    // Every src and href: a file of this server, or the empty favicon (which keeps the browser from asking for /favicon.ico).
    const attributes = [...page.body.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(attributes.length >= 3, attributes.join(' '));
    for (const value of attributes) assert.ok(value === 'data:,' || value.startsWith('/graphiql/'), value);
    // The default query stays what yoga.ts sets.
    assert.match(page.body, /# nasnet: experiments, samples, trials, policy updates, the event log\./);
  });

  it('serves every script, stylesheet and worker the page names, with its content type', async () => {
    const page = await get('/graphql', { accept: 'text/html' });
    const urls = [...new Set([...page.body.matchAll(/"(\/graphiql\/[^"]+)"/g)].map((m) => m[1]!))];
    const files = urls.map((url) => new URL(url, 'http://localhost').pathname.slice('/graphiql/'.length)).sort();
    assert.deepEqual(files, [
      'graphiql.css',
      'monacoeditorwork/editor.worker.bundle.js',
      'monacoeditorwork/graphql.worker..bundle.js',
      'monacoeditorwork/json.worker.bundle.js',
      'yoga-graphiql.umd.js',
    ]);
    for (const url of urls) {
      const asset = await get(url);
      assert.equal(asset.status, 200, url);
      const type = String(asset.headers['content-type']);
      assert.match(type, url.includes('.css') ? /^text\/css/ : /^text\/javascript/, `${url}: ${type}`);
      assert.equal(asset.headers['x-content-type-options'], 'nosniff');
      assert.match(String(asset.headers['cache-control']), /max-age=\d{6,}/);
      assert.ok(asset.body.length > 1000, url);
    }
    const head = await get(urls.find((u) => u.includes('.css'))!, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await get('/graphiql/graphiql.css', {}, 'POST')).status, 405);
  });

  it('serves nothing outside the package: traversal, encoded separators and unknown names are 404', async () => {
    for (const path of [
      '/graphiql/../../package.json',
      '/graphiql/../package.json',
      '/graphiql/%2e%2e/package.json',
      '/graphiql/%2e%2e/%2e%2e/package.json',
      '/graphiql/..%2f..%2fpackage.json',
      '/graphiql/..%5c..%5cpackage.json',
      '/graphiql/monacoeditorwork/..%2f..%2fpackage.json',
      '/graphiql/package.json',
      '/graphiql/',
      '/graphiql/graphiql.css%00',
      '/graphiql//etc/passwd',
    ]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(response.body, /"name"|"version"|root:/, path);
    }
  });

  it('applies the Host check to the page and its files', async () => {
    for (const path of ['/graphql', '/graphiql/graphiql.css']) {
      const foreign = await get(path, { accept: 'text/html', host: `rebound.example:${port}` });
      assert.equal(foreign.status, 403, path);
    }
    // Only at exactly /graphql, as the API.
    assert.equal((await get('/x/graphql', { accept: 'text/html' })).status, 404);
  });
});
