import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, type ExecutionResult } from 'graphql-sse';
import { openReadModels } from '../../core/projections/sqlite-projector.ts';
import { createExperiment } from '../../core/runtime/controller-loop.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import { openSqliteStore, type SqliteEventStore } from '../../core/store/sqlite/sqlite-store.ts';
import { createGraphqlServer, type GraphqlServer, type GraphqlServerOptions } from '../../graphql/server.ts';
import { testSearchConfig } from '../support/search-config.ts';

const SUBSCRIPTION = 'subscription { events { type position } }';
const TOKEN_HEADER = 'x-graphql-event-stream-token';
const TOKEN = 'sse-test-token';

type EventsData = { events: { type: string; position: string } };
type EventsResult = ExecutionResult<EventsData, unknown>;
interface Served {
  server: GraphqlServer;
  base: string;
  /** Stops listening (ending what connections are left). */
  stopListening(): Promise<void>;
  /** Closes the GraphQL server, then stops listening. */
  close(): Promise<void>;
}

let dir: string;
let store: SqliteEventStore;
let readModels: SqliteConnection;
let experiments = 0;

/** Appends an experiment's first events (ExperimentCreated, ControllerInitialized) to the store. */
async function appendExperiment(): Promise<string> {
  const experimentId = `sse-${++experiments}`;
  await createExperiment(store, {
    experimentId,
    config: testSearchConfig(),
    seed: experiments,
    codeVersion: 'test',
    writerId: 'test',
  });
  return experimentId;
}

async function allEvents(): Promise<Array<{ type: string }>> {
  const events: Array<{ type: string }> = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

/** A GraphQL server on a real node:http server on loopback, as `nasnet serve` runs it. */
async function serve(options: Partial<GraphqlServerOptions> = {}): Promise<Served> {
  const server = createGraphqlServer({ store, readModels, logging: false, ...options });
  const http: Server = createServer(server.handle);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const stopListening = async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  };
  return {
    server,
    base,
    stopListening,
    async close() {
      await server.close();
      await stopListening();
    },
  };
}

/** fetch, recording each request's method, path and answer, and resolving `accepted` once an operation is POSTed and accepted. */
function recordingFetch() {
  const calls: Array<{ method: string; path: string; status: number }> = [];
  let onAccepted: () => void = () => undefined;
  const accepted = new Promise<void>((resolve) => {
    onAccepted = resolve;
  });
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const response = await fetch(request);
    calls.push({ method: request.method, path: new URL(request.url).pathname, status: response.status });
    // 202: single connection mode took the operation; 200 with a stream: distinct mode's operation runs.
    const stream = response.headers.get('content-type')?.includes('text/event-stream');
    if (request.method === 'POST' && (response.status === 202 || stream)) onAccepted();
    return response;
  };
  return { calls, accepted, fetchFn };
}

/** Takes `count` results from a subscription, appending experiments once it runs, then stops it. */
async function receive(iterator: AsyncIterableIterator<EventsResult>, accepted: Promise<void>, count: number) {
  const results: EventsResult[] = [];
  const appended: string[] = [];
  const reading = (async () => {
    for await (const result of iterator) {
      results.push(result);
      if (results.length === count) break;
    }
  })();
  // Events appended before the subscription exists are not its to deliver: append once the server took it.
  await accepted;
  for (let i = 0; i < count / 2; i++) appended.push(await appendExperiment());
  await Promise.race([
    reading,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`got only ${JSON.stringify(results)}`)), 10_000).unref()),
  ]);
  return { results, appended };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nasnet-graphql-sse-'));
  store = await openSqliteStore(join(dir, 'store.db'));
  readModels = await openReadModels(join(dir, 'store.db'));
  await appendExperiment();
});

after(async () => {
  await readModels?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('graphql-sse at /graphql/stream', () => {
  it('serves single connection mode to the graphql-sse client: PUT reserves, GET streams, POST runs the subscription', async () => {
    const served = await serve();
    const { calls, accepted, fetchFn } = recordingFetch();
    const client = createClient({ url: `${served.base}/graphql/stream`, singleConnection: true, fetchFn, retryAttempts: 0 });
    try {
      const head = Number((await store.headPosition()).toString());
      const { results } = await receive(client.iterate<EventsData>({ query: SUBSCRIPTION }), accepted, 4);
      assert.deepEqual(
        results.map((r) => r.data?.events.type),
        ['ExperimentCreated', 'ControllerInitialized', 'ExperimentCreated', 'ControllerInitialized'],
      );
      assert.deepEqual(
        results.map((r) => Number(r.data?.events.position)),
        [head + 1, head + 2, head + 3, head + 4],
      );
      assert.ok(results.every((r) => r.errors === undefined));
      const methods = calls.map((c) => `${c.method} ${c.path} ${c.status}`);
      for (const expected of ['PUT /graphql/stream 201', 'GET /graphql/stream 200', 'POST /graphql/stream 202'])
        assert.ok(methods.includes(expected), `${expected} in ${methods.join(', ')}`);
    } finally {
      client.dispose();
      await served.close();
    }
  });

  it('serves distinct connections mode to the graphql-sse client, at /graphql/stream and at /graphql as before', async () => {
    const served = await serve();
    try {
      for (const path of ['/graphql/stream', '/graphql']) {
        const { calls, accepted, fetchFn } = recordingFetch();
        const client = createClient({ url: `${served.base}${path}`, fetchFn, retryAttempts: 0 });
        try {
          const { results, appended } = await receive(client.iterate<EventsData>({ query: SUBSCRIPTION }), accepted, 2);
          assert.deepEqual(
            results.map((r) => r.data?.events.type),
            ['ExperimentCreated', 'ControllerInitialized'],
            path,
          );
          assert.equal(appended.length, 1);
          assert.deepEqual(
            calls.map((c) => `${c.method} ${c.path} ${c.status}`),
            [`POST ${path} 200`],
          );
        } finally {
          client.dispose();
        }
      }
    } finally {
      await served.close();
    }
  });

  it('runs queries on a single connection, answers their errors with codes, and refuses mutations over GET', async () => {
    const served = await serve({ token: TOKEN });
    const client = createClient({ url: `${served.base}/graphql/stream`, singleConnection: true, retryAttempts: 0 });
    try {
      const first = async (query: string) => {
        for await (const result of client.iterate({ query })) return result;
        throw new Error('no result');
      };
      assert.deepEqual(await first('{ headPosition }'), { data: { headPosition: (await store.headPosition()).toString() } });
      const invalid = await first('{ nope }');
      assert.equal(invalid.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      assert.equal(invalid.errors?.[0]?.extensions?.http, undefined);
      const unparsable = await first('{ headPosition');
      assert.equal(unparsable.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
      const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: headPosition`).join(' ')} }`;
      const tooMany = await first(aliases);
      assert.match(tooMany.errors?.[0]?.message ?? '', /Aliases limit of 15/, JSON.stringify(tooMany));
      assert.equal(tooMany.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX');
    } finally {
      client.dispose();
    }
    try {
      const stopped = async () => (await allEvents()).filter((e) => e.type === 'ExperimentStopped').length;
      const before = await stopped();
      const mutation = encodeURIComponent('mutation { stopExperiment(id: "sse-1") { id } }');
      const response = await fetch(`${served.base}/graphql/stream?query=${mutation}`, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` },
      });
      const text = await readUntil(response, () => false);
      assert.match(text, /"errors":\[\{"message":"Can only perform a mutation operation from a POST request\."/);
      assert.doesNotMatch(text, /"data"/);
      assert.equal(await stopped(), before, 'nothing written');
    } finally {
      await served.close();
    }
  });

  it('applies the Host check, the CSRF rule and the size limit to /graphql/stream', async () => {
    const served = await serve({ allowedHosts: ['127.0.0.1'] });
    try {
      const url = `${served.base}/graphql/stream`;
      const foreign = await served.server.yoga.fetch('http://rebound.example/graphql/stream', { method: 'PUT' });
      assert.equal(foreign.status, 403);
      assert.equal((await fetch(url, { method: 'PUT' })).status, 201);

      const put = await fetch(url, { method: 'PUT' });
      const token = await put.text();
      const plain = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', [TOKEN_HEADER]: token },
        body: JSON.stringify({ query: '{ headPosition }', extensions: { operationId: '1' } }),
      });
      assert.equal(plain.status, 415);
      const refused = (await plain.json()) as { errors: Array<{ extensions: { code: string } }> };
      assert.equal(refused.errors[0]!.extensions.code, 'CSRF_PREVENTED');

      const large = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: `{ headPosition }${' '.repeat(70_000)}` }),
      });
      assert.equal(large.status, 413);

      const elsewhere = await fetch(`${served.base}/x/graphql/stream`, { method: 'PUT' });
      assert.equal(elsewhere.status, 404);
      // graphql-sse's own refusals carry a code too.
      const unknown = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: 'no-such-stream' },
        body: JSON.stringify({ query: '{ headPosition }', extensions: { operationId: '1' } }),
      });
      assert.equal(unknown.status, 404);
      assert.equal(
        ((await unknown.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code,
        'NOT_FOUND',
      );
    } finally {
      await served.close();
    }
  });

  it('answers PUT and DELETE at /graphql with a 405 naming /graphql/stream', async () => {
    const served = await serve();
    try {
      for (const method of ['PUT', 'DELETE']) {
        const response = await fetch(`${served.base}/graphql`, { method });
        assert.equal(response.status, 405);
        const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
        assert.equal(body.errors[0]!.extensions.code, 'METHOD_NOT_ALLOWED');
        assert.match(body.errors[0]!.message, /single connection mode .* is at \/graphql\/stream/);
      }
    } finally {
      await served.close();
    }
  });

  it('ends a subscription that falls too far behind with SUBSCRIPTION_BEHIND, as on /graphql', async () => {
    while (Number((await store.headPosition()).toString()) < 60) await appendExperiment();
    const server = createGraphqlServer({ store, readModels, limits: { maxSubscriptionBacklog: 3 }, logging: false });
    try {
      const url = 'http://localhost/graphql/stream';
      const token = await (await server.yoga.fetch(url, { method: 'PUT' })).text();
      // Opened, and not read yet: the client is slow.
      const stream = await server.yoga.fetch(`${url}?token=${token}`, { headers: { accept: 'text/event-stream' } });
      assert.equal(stream.status, 200);
      const post = await server.yoga.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
        body: JSON.stringify({ query: 'subscription { events(after: "0") { position } }', extensions: { operationId: 's' } }),
      });
      assert.equal(post.status, 202);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const messages = await readUntil(stream, (text) => text.includes('event: complete'));
      const payloads = [...messages.matchAll(/^data: (.*)$/gm)]
        .map(
          (m) => JSON.parse(m[1]!) as { id: string; payload?: { data?: { events: { position: string } }; errors?: unknown[] } },
        )
        .filter((m) => m.payload);
      const delivered = payloads.filter((m) => m.payload!.data).map((m) => m.payload!.data!.events.position);
      const error = payloads.find((m) => m.payload!.errors)?.payload!.errors as Array<{
        message: string;
        extensions: { code: string };
      }>;
      assert.ok(error, `an error after ${delivered.length} events`);
      assert.equal(error[0]!.extensions.code, 'SUBSCRIPTION_BEHIND');
      assert.match(error[0]!.message, new RegExp(`after: "${delivered.at(-1)}"`));
      assert.deepEqual(delivered.slice(0, 3), ['1', '2', '3']);
      assert.ok(delivered.length < 60, `a slow client is not sent the whole log (${delivered.length} events)`);
    } finally {
      await server.close();
    }
  });

  it('ends open and reserved streams on close(); later requests get 503', async () => {
    const served = await serve();
    const url = `${served.base}/graphql/stream`;
    const token = await (await fetch(url, { method: 'PUT' })).text();
    const reserved = await (await fetch(url, { method: 'PUT' })).text();
    const stream = await fetch(`${url}?token=${token}`, { headers: { accept: 'text/event-stream' } });
    const post = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
      body: JSON.stringify({ query: SUBSCRIPTION, extensions: { operationId: 'a' } }),
    });
    assert.equal(post.status, 202);
    const distinct = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIPTION }),
    });
    assert.equal(distinct.status, 200);
    try {
      await served.server.close();
      // Both responses end (the whole body can be read) instead of staying open.
      await readUntil(stream, () => false);
      await readUntil(distinct, () => false);
      const late = await fetch(url, { method: 'PUT' });
      assert.equal(late.status, 503);
      assert.equal(
        ((await late.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code,
        'SERVICE_UNAVAILABLE',
      );
      const opened = await fetch(`${url}?token=${reserved}`, { headers: { accept: 'text/event-stream' } });
      assert.equal(opened.status, 503);
    } finally {
      await served.stopListening();
    }
  });
});

/** Reads a response's text until `done` accepts it or the body ends (failing after 5 s). */
async function readUntil(response: Response, done: (text: string) => boolean): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 5_000;
  try {
    while (!done(text)) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`the stream went on; got ${JSON.stringify(text)}`)),
            Math.max(1, deadline - Date.now()),
          ).unref(),
        ),
      ]);
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}
