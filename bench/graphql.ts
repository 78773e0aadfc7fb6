/**
 * GraphQL server latency and throughput over a large history.
 *
 *   npm run bench:graphql -- --json [--store sqlite:<path>] [--events N] [--clients 16] [--seconds 10]
 *
 * The history: `--store` when it holds events; else the cached `.nasnet/bench-1m.db` when
 * it is complete (for the default 1M events; generated there when missing); else one
 * generated in a temporary folder (e.g. `--events 100000` for a quicker run) and removed
 * after. Which one is printed to stderr and in the JSON's `history`.
 *
 * The server runs in a child process (bench/graphql-children.ts), so the clients' work does
 * not queue on its event loop; on a 2-core machine the two processes share the cores with
 * SQLite's worker threads, so absolute numbers include that contention. Per query,
 * `--clients` clients each send one request at a time over a keep-alive connection for
 * `--warmup` seconds (discarded) and then `--seconds` seconds (measured).
 *
 * Subscription latency: `--subscribers` SSE clients subscribe to a new experiment's events;
 * a third process appends `--appends` events to it through its own store connection,
 * `--spacing` ms apart; latency = client receive time − the append's return in the other
 * process (wall clocks of one machine). That experiment (`bench-sub-<time>`, about 55
 * events, left stopped) stays in the store: a given or cached history grows a little per run.
 *
 * `readModel` times the same reads straight on the read models, one at a time, in this
 * process: what the query itself costs, without HTTP and GraphQL. Each result also has the
 * server's CPU time per request and how busy its event loop was: when the loop is
 * saturated, latency is roughly clients × CPU per request.
 *
 * `--cpu-prof <dir>` writes one V8 CPU profile of the server per query, covering only the
 * measured window (open in Chrome DevTools or speedscope).
 *
 * `--cache on|off|both` (both): the server's response cache (graphql/response-cache.ts)
 * answers a repeated query from memory while the read models stand still, which is what
 * this bench's repeated queries hit; `off` measures every request executed. Each result
 * row says which.
 *
 * The queries: bestCells and the first samples pages (by index, by reward), the ones scripts
 * send (a filtered page, another order, a backward page from deep inside, a filtered
 * experiments page, a comparison of every experiment, one sample's trials with per-epoch
 * metrics and events) and an events page. `--only <regex>` keeps the queries whose name matches.
 *
 * More options: --warmup <s> (2), --subscribers <k> (4), --appends <n> (50), --spacing <ms> (50).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bestCells } from '../core/projections/queries.ts';
import { samplesPage } from '../core/projections/sample-pages.ts';
import { openReadModels, readCheckpoint } from '../core/projections/sqlite-projector.ts';
import { parseStoreAddress } from '../core/store/address.ts';
import { openStore } from '../core/store/open-store.ts';
import { generateHistory, projectAll, readHistorySummary, removeDatabase } from './generate-history.ts';
import {
  wallClockMs,
  type AppenderMessage,
  type AppendRequest,
  type ServerRequest,
  type ServerUsage,
} from './graphql-children.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    store: { type: 'string' },
    events: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    subscribers: { type: 'string', default: '4' },
    appends: { type: 'string', default: '50' },
    spacing: { type: 'string', default: '50' },
    cache: { type: 'string', default: 'both' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});

const number = (name: string, text: string, min: number): number => {
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${text}"`);
  return n;
};
const EVENTS = Math.round(number('events', values.events, 1000));
const CLIENTS = Math.round(number('clients', values.clients, 1));
const SECONDS = number('seconds', values.seconds, 0.5);
const WARMUP = number('warmup', values.warmup, 0);
const SUBSCRIBERS = Math.round(number('subscribers', values.subscribers, 1));
const APPENDS = Math.round(number('appends', values.appends, 1));
const SPACING = number('spacing', values.spacing, 0);
const CACHED_HISTORY = resolve('.nasnet/bench-1m.db');
const CACHE_MODE = values.cache;
if (CACHE_MODE !== 'on' && CACHE_MODE !== 'off' && CACHE_MODE !== 'both')
  throw new Error(`--cache must be on, off or both, got "${CACHE_MODE}"`);

const say = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, digits = 2) => +x.toFixed(digits);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ---- the history ------------------------------------------------------------------------

interface History {
  source: 'given' | 'cached' | 'generated';
  path: string;
  events: number;
  cleanup: () => Promise<void>;
}

async function headOf(address: string): Promise<bigint> {
  const store = await openStore(address);
  try {
    return await store.headPosition();
  } finally {
    await store.close();
  }
}

async function ensureProjected(path: string): Promise<void> {
  const store = await openStore(`sqlite:${path}`);
  try {
    const db = await openReadModels(path);
    const behind = (await store.headPosition()) - (await readCheckpoint(db));
    await db.close();
    if (behind > 0n) {
      say(`projecting the ${behind} events the read models lack`);
      await projectAll(store, path, say);
    }
  } finally {
    await store.close();
  }
}

async function prepareHistory(): Promise<History> {
  const none = async () => undefined;
  if (values.store) {
    const parsed = parseStoreAddress(values.store);
    if (parsed.kind !== 'sqlite')
      throw new Error('--store must be a sqlite: address (the server reads its read models from that file)');
    const path = resolve(parsed.path);
    const head = ((await stat(path).catch(() => null))?.size ?? 0) > 0 ? await headOf(`sqlite:${path}`) : 0n;
    if (head > 0n) {
      say(`history: ${path} (given, ${head} events)`);
      await ensureProjected(path);
      return { source: 'given', path, events: Number(head), cleanup: none };
    }
    say(`history: generating ${EVENTS} events into ${path} (given, empty)`);
    await generateHistory(`sqlite:${path}`, { events: EVENTS, log: say });
    return { source: 'generated', path, events: Number(await headOf(`sqlite:${path}`)), cleanup: none };
  }
  if (EVENTS === 1_000_000) {
    const summary = await readHistorySummary(CACHED_HISTORY);
    if (summary && summary.events >= EVENTS && (await stat(CACHED_HISTORY).catch(() => null))) {
      say(`history: ${CACHED_HISTORY} (cached, generated ${summary.generatedAt})`);
      await ensureProjected(CACHED_HISTORY);
      return { source: 'cached', path: CACHED_HISTORY, events: Number(await headOf(`sqlite:${CACHED_HISTORY}`)), cleanup: none };
    }
    say(
      `history: generating ${EVENTS} events into ${CACHED_HISTORY} (kept as the cache for the next run; about 8 minutes on 2 cores)`,
    );
    await removeDatabase(CACHED_HISTORY);
    await generateHistory(`sqlite:${CACHED_HISTORY}`, { events: EVENTS, log: say });
    return { source: 'generated', path: CACHED_HISTORY, events: Number(await headOf(`sqlite:${CACHED_HISTORY}`)), cleanup: none };
  }
  const dir = await mkdtemp(join(tmpdir(), 'nasnet-bench-graphql-'));
  const path = join(dir, 'history.db');
  say(`history: generating ${EVENTS} events into ${path} (temporary)`);
  await generateHistory(`sqlite:${path}`, { events: EVENTS, log: say });
  return {
    source: 'generated',
    path,
    events: Number(await headOf(`sqlite:${path}`)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- processes --------------------------------------------------------------------------

const CHILD = new URL('./graphql-children.ts', import.meta.url).pathname;

function startChild(role: 'server' | 'appender', path: string, args: string[] = []): ChildProcess {
  return fork(CHILD, [role, '--store', `sqlite:${path}`, ...args], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the ${what} exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Sends the server a request and waits for its answer of kind `answer`. */
function ask<T>(server: ChildProcess, request: ServerRequest, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { kind?: string }) => {
      if (message.kind !== answer) return;
      server.off('message', onMessage);
      resolve(message as T);
    };
    server.on('message', onMessage);
    server.send(request);
  });
}

// ---- HTTP -------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: string;
}

function post(agent: Agent, port: number, payload: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          'content-length': payload.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function graphql<T>(agent: Agent, port: number, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const reply = await post(agent, port, Buffer.from(JSON.stringify({ query, variables })));
  const parsed = JSON.parse(reply.body) as { data?: T; errors?: Array<{ message: string }> };
  if (reply.status !== 200 || parsed.errors?.length || !parsed.data) {
    throw new Error(
      `GraphQL request failed (HTTP ${reply.status}): ${parsed.errors?.map((e) => e.message).join('; ') ?? reply.body.slice(0, 300)}`,
    );
  }
  return parsed.data;
}

interface LoadQuery {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** Checks one answer's shape; a wrong answer counts as an error. */
  check: (data: unknown) => boolean;
}

interface LoadResult {
  query: string;
  clients: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  /** Whether the server reused results while the read models stood still (graphql/response-cache.ts). */
  responseCache?: boolean;
  /** The server process's CPU time (SQLite's threads included) per request in the window. */
  serverCpuMsPerRequest?: number;
  /** Share of the window the server's event loop was busy (1 = saturated). */
  serverEventLoopUtilization?: number;
  firstError?: string;
}

/** `clients` loops, each one request at a time, for `seconds`; latency is request start → last body byte. */
async function load(port: number, q: LoadQuery, clients: number, seconds: number, record: boolean): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const payload = Buffer.from(JSON.stringify({ query: q.query, variables: q.variables }));
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      let ok = false;
      try {
        const reply = await post(agent, port, payload);
        ok = reply.status === 200 && !reply.body.includes('"errors"');
        if (!ok) firstError ??= `HTTP ${reply.status}: ${reply.body.slice(0, 300)}`;
      } catch (error) {
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      const ms = performance.now() - start;
      if (!record) continue;
      if (!ok) errors++;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.subarray(0, count).sort();
  return {
    query: q.name,
    clients,
    requests: count,
    rps: Math.round(count / elapsed),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[count - 1] ?? NaN),
    errors,
    ...(firstError && record ? { firstError } : {}),
  };
}

// ---- subscriptions ----------------------------------------------------------------------

interface SseClient {
  /** Receive time (wall clock) per TrainingProgressed epoch. */
  received: Map<number, number>;
  close: () => void;
  ready: Promise<void>;
}

function subscribe(port: number, experimentId: string, onError: (error: Error) => void): SseClient {
  const received = new Map<number, number>();
  const body = JSON.stringify({
    query: 'subscription ($id: ID!) { events(experimentId: $id) { position type data } }',
    variables: { id: experimentId },
  });
  let close = () => undefined as void;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          rejectReady(new Error(`subscription refused: HTTP ${res.statusCode}`));
          return;
        }
        resolveReady();
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const at = wallClockMs();
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = message.split('\n');
            if (!lines.includes('event: next')) continue;
            const data = lines
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            try {
              const parsed = JSON.parse(data) as {
                data?: { events?: { type: string; data: { epoch?: number } } };
                errors?: Array<{ message: string }>;
              };
              if (parsed.errors?.length) onError(new Error(parsed.errors.map((e) => e.message).join('; ')));
              const event = parsed.data?.events;
              if (
                event?.type === 'TrainingProgressed' &&
                typeof event.data.epoch === 'number' &&
                !received.has(event.data.epoch)
              ) {
                received.set(event.data.epoch, at);
              }
            } catch (error) {
              onError(error as Error);
            }
          }
        });
      },
    );
    req.on('error', (error) => {
      rejectReady(error);
      onError(error);
    });
    req.end(body);
    close = () => req.destroy();
  });
  return { received, ready, close: () => close() };
}

async function subscriptionLatency(port: number, path: string) {
  const experimentId = `bench-sub-${Date.now()}`;
  const errors: string[] = [];
  const clients = Array.from({ length: SUBSCRIBERS }, () => subscribe(port, experimentId, (e) => errors.push(e.message)));
  await Promise.all(clients.map((c) => c.ready));
  // The response headers come before the server has subscribed to the store: give it a moment.
  await new Promise((r) => setTimeout(r, 500));
  const appender = startChild('appender', path);
  const appendedAt = new Map<number, number>();
  try {
    const ready = await firstMessage<AppenderMessage>(appender, 'appender');
    if (ready.kind !== 'ready') throw new Error('the appender did not start');
    const finished = new Promise<void>((resolveDone, rejectDone) => {
      appender.on('message', (message: AppenderMessage) => {
        if (message.kind === 'appended') appendedAt.set(message.epoch, message.at);
        else if (message.kind === 'done') resolveDone();
        else if (message.kind === 'error') rejectDone(new Error(`appender: ${message.message}`));
      });
      appender.once('exit', (code) => rejectDone(new Error(`the appender exited (code ${code})`)));
    });
    appender.send({ experimentId, appends: APPENDS, spacingMs: SPACING } satisfies AppendRequest);
    await finished;
    // The last append's deliveries may still be on their way.
    const waitUntil = performance.now() + 2000;
    while (performance.now() < waitUntil && clients.some((c) => c.received.size < APPENDS))
      await new Promise((r) => setTimeout(r, 20));
  } finally {
    for (const c of clients) c.close();
    await stopChild(appender);
  }
  const latencies: number[] = [];
  for (const c of clients) {
    for (const [epoch, at] of c.received) {
      const appended = appendedAt.get(epoch);
      if (appended !== undefined) latencies.push(at - appended);
    }
  }
  const sorted = Float64Array.from(latencies).sort();
  const expected = APPENDS * SUBSCRIBERS;
  return {
    subscribers: SUBSCRIBERS,
    appends: APPENDS,
    spacingMs: SPACING,
    deliveries: sorted.length,
    missed: expected - sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    maxMs: round(sorted[sorted.length - 1] ?? NaN),
    ...(errors.length ? { errors: errors.length, firstError: errors[0] } : {}),
  };
}

// ---- the queries scripts send (filters, other orders, backward pages, comparisons, trial history) ----

interface ScriptPicks {
  /** The best sample's cell: a selective filter. */
  cellHash: string;
  /** A policy version in the middle of the search. */
  policyVersion: number;
  /** The REWARD_ASC cursor of a sample near the middle of that order: a backward page from deep inside. */
  middleCursor: string;
  /** A sample with several trial attempts (a retry or a takeover) when there is one. */
  sampleId: string;
}

async function scriptPicks(agent: Agent, port: number, largest: { id: string; sampleCount: number }): Promise<ScriptPicks> {
  type Picks = {
    experiment: {
      policyVersion: number;
      bestSample: { cellHash: string };
      samples: { edges: Array<{ cursor: string }> };
    };
  };
  const { experiment } = await graphql<Picks>(
    agent,
    port,
    'query ($id: ID!) { experiment(id: $id) { policyVersion bestSample { cellHash } samples(first: 1, orderBy: REWARD_ASC, filter: { minReward: 0.5 }) { edges { cursor } } } }',
    { id: largest.id },
  );
  // A retried sample: the history generator fails and takes over some trials.
  const db = await openReadModels(history.path);
  try {
    const retried = await db.get<{ sample_id: string }>(
      'SELECT sample_id FROM rm_trials WHERE experiment_id = ? AND attempt > 1 LIMIT 1',
      [largest.id],
    );
    const any = await db.get<{ sample_id: string }>('SELECT sample_id FROM rm_trials WHERE experiment_id = ? LIMIT 1', [
      largest.id,
    ]);
    return {
      cellHash: experiment.bestSample.cellHash,
      policyVersion: Math.floor(experiment.policyVersion / 2),
      middleCursor: experiment.samples.edges[0]!.cursor,
      sampleId: retried?.sample_id ?? any!.sample_id,
    };
  } finally {
    await db.close();
  }
}

function scriptQueries(experimentId: string, picks: ScriptPicks, allIds: readonly string[]): LoadQuery[] {
  const node = 'edges { node { id index reward status } cursor } pageInfo { hasNextPage hasPreviousPage endCursor }';
  const samples = (args: string) => `query ($id: ID!) { experiment(id: $id) { samples(${args}) { ${node} } } }`;
  const edges = (d: unknown) => (d as { experiment: { samples: { edges: unknown[] } } }).experiment.samples.edges.length;
  return [
    {
      name: 'samples(filter: {cellHash}) of the best cell',
      query: samples(`first: 20, orderBy: REWARD_DESC, filter: { cellHash: "${picks.cellHash}" }`),
      variables: { id: experimentId },
      check: (d) => edges(d) >= 1,
    },
    {
      name: 'samples(filter: {status: [COMPLETED], policyVersion, minReward: 0.3})',
      query: samples(`first: 20, filter: { status: [COMPLETED], policyVersion: ${picks.policyVersion}, minReward: 0.3 }`),
      variables: { id: experimentId },
      check: (d) => edges(d) >= 0,
    },
    {
      name: 'samples(first: 20, orderBy: COMPLETED_AT)',
      query: samples('first: 20, orderBy: COMPLETED_AT'),
      variables: { id: experimentId },
      check: (d) => edges(d) === 20,
    },
    {
      name: 'samples(last: 20, before: <middle>, orderBy: REWARD_ASC)',
      query: samples(`last: 20, before: "${picks.middleCursor}", orderBy: REWARD_ASC`),
      variables: { id: experimentId },
      check: (d) => edges(d) === 20,
    },
    {
      name: 'experimentsPage(first: 10, CREATED_AT_DESC, filter)',
      query:
        '{ experimentsPage(first: 10, orderBy: CREATED_AT_DESC, filter: { trainer: "synthetic" }) { edges { node { id status bestReward } } pageInfo { hasNextPage endCursor } } }',
      variables: {},
      check: (d) => Array.isArray((d as { experimentsPage: { edges: unknown[] } }).experimentsPage.edges),
    },
    {
      name: 'compareExperiments(every id) { rewardCurve(maxPoints: 50) bestCells(top: 3) }',
      query:
        'query ($ids: [ID!]!) { compareExperiments(ids: $ids) { id bestReward sampleCount rewardCurve(maxPoints: 50) { index reward bestSoFar } bestCells(top: 3) { id reward } } }',
      variables: { ids: allIds.slice(0, 10) },
      check: (d) => (d as { compareExperiments: unknown[] }).compareExperiments.length === Math.min(10, allIds.length),
    },
    {
      name: 'sample { trials { metrics events } }',
      query: `{ sample(id: "${picks.sampleId}") { trials { attempt worker status error metrics { epoch metrics } events { type metadata { writerId timestamp } } } } }`,
      variables: {},
      check: (d) => ((d as { sample: { trials: unknown[] } | null }).sample?.trials.length ?? 0) >= 1,
    },
  ];
}

// ---- read models directly -----------------------------------------------------------------

async function readModelTimings(path: string, experimentId: string, middle: bigint) {
  const db = await openReadModels(path);
  const store = await openStore(`sqlite:${path}`);
  const time = async (fn: () => Promise<unknown>, n = 200) => {
    for (let i = 0; i < 20; i++) await fn();
    const ms = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await fn();
      ms[i] = performance.now() - start;
    }
    ms.sort();
    return { p50Ms: round(percentile(ms, 50), 3), p95Ms: round(percentile(ms, 95), 3) };
  };
  try {
    return {
      bestCells: await time(() => bestCells(db, experimentId, 5)),
      samplesIndex: await time(() => samplesPage(db, experimentId, { first: 20, orderBy: 'INDEX' })),
      samplesRewardDesc: await time(() => samplesPage(db, experimentId, { first: 20, orderBy: 'REWARD_DESC' })),
      eventsPage: await time(async () => {
        let n = 0;
        for await (const _ of store.readAll({ fromPosition: middle, maxCount: 100 })) n++;
        return n;
      }, 100),
    };
  } finally {
    await db.close();
    await store.close();
  }
}

// ---- main -------------------------------------------------------------------------------

const history = await prepareHistory();
const PROFILE_DIR = values['cpu-prof'] ? resolve(values['cpu-prof']) : null;
if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
const modes = CACHE_MODE === 'both' ? [true, false] : [CACHE_MODE === 'on'];

interface Server {
  child: ChildProcess;
  port: number;
}

async function startServer(responseCache: boolean): Promise<Server> {
  const child = startChild('server', history.path, responseCache ? [] : ['--no-response-cache']);
  const { port } = await firstMessage<{ port: number }>(child, 'server');
  say(`server: http://127.0.0.1:${port}/graphql (pid ${child.pid}, response cache ${responseCache ? 'on' : 'off'})`);
  return { child, port };
}

let server = await startServer(modes[0]!);
try {
  const probe = new Agent({ keepAlive: true });
  const { experiments, headPosition } = await graphql<{
    experiments: Array<{ id: string; sampleCount: number }>;
    headPosition: string;
  }>(probe, server.port, '{ experiments { id sampleCount } headPosition }');
  const largest = experiments.reduce((a, b) => (b.sampleCount > a.sampleCount ? b : a));
  const middle = BigInt(headPosition) / 2n;
  const picks = await scriptPicks(probe, server.port, largest);
  probe.destroy();
  say(
    `largest experiment: ${largest.id} (${largest.sampleCount} samples); events page after position ${middle} of ${headPosition}`,
  );

  const samplesQuery = (orderBy: string) =>
    `query ($id: ID!) { experiment(id: $id) { samples(first: 20, orderBy: ${orderBy}) { edges { node { id index reward status trials { attempt status } } cursor } pageInfo { hasNextPage endCursor } } } }`;
  type SamplesData = { experiment: { samples: { edges: unknown[] } } };
  const queries: LoadQuery[] = [
    {
      name: 'bestCells(top: 5)',
      query: 'query ($id: ID!) { experiment(id: $id) { bestCells(top: 5) { id reward cellHash normal { text } } } }',
      variables: { id: largest.id },
      check: (d) => (d as { experiment: { bestCells: unknown[] } }).experiment.bestCells.length === 5,
    },
    {
      name: 'samples(first: 20, orderBy: INDEX)',
      query: samplesQuery('INDEX'),
      variables: { id: largest.id },
      check: (d) => (d as SamplesData).experiment.samples.edges.length === 20,
    },
    {
      name: 'samples(first: 20, orderBy: REWARD_DESC)',
      query: samplesQuery('REWARD_DESC'),
      variables: { id: largest.id },
      check: (d) => (d as SamplesData).experiment.samples.edges.length === 20,
    },
    ...scriptQueries(
      largest.id,
      picks,
      experiments.map((e) => e.id),
    ),
    {
      name: 'events(first: 100, after: middle)',
      query:
        'query ($after: String) { events(first: 100, after: $after) { edges { node { position type stream data } cursor } pageInfo { hasNextPage endCursor } } }',
      variables: { after: middle.toString() },
      check: (d) => (d as { events: { edges: unknown[] } }).events.edges.length === 100,
    },
  ];

  const only = values.only ? new RegExp(values.only) : null;
  if (only) queries.splice(0, queries.length, ...queries.filter((q) => only.test(q.name)));
  const results: LoadResult[] = [];
  let subscription: Awaited<ReturnType<typeof subscriptionLatency>> | null = null;
  for (const [m, responseCache] of modes.entries()) {
    if (m > 0) {
      await stopChild(server.child);
      server = await startServer(responseCache);
    }
    const { child, port } = server;
    const check = new Agent({ keepAlive: true });
    for (const q of queries) {
      const data = await graphql(check, port, q.query, q.variables);
      if (!q.check(data)) throw new Error(`${q.name}: unexpected answer ${JSON.stringify(data).slice(0, 300)}`);
    }
    check.destroy();

    for (const q of queries) {
      if (WARMUP > 0) await load(port, q, CLIENTS, WARMUP, false);
      if (PROFILE_DIR) await ask(child, { kind: 'profile-start' }, 'profiling');
      const before = await ask<ServerUsage>(child, { kind: 'usage' }, 'usage');
      const result = await load(port, q, CLIENTS, SECONDS, true);
      const after = await ask<ServerUsage>(child, { kind: 'usage' }, 'usage');
      if (PROFILE_DIR) {
        const slug = q.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '');
        const file = join(PROFILE_DIR, `server-${slug}-cache-${responseCache ? 'on' : 'off'}.cpuprofile`);
        await ask(child, { kind: 'profile-stop', file }, 'profiled');
        say(`profile: ${file}`);
      }
      result.responseCache = responseCache;
      result.serverCpuMsPerRequest = round((after.cpuMs - before.cpuMs) / Math.max(1, result.requests), 3);
      const activeMs = after.elu.active - before.elu.active;
      result.serverEventLoopUtilization = round(activeMs / (activeMs + after.elu.idle - before.elu.idle), 2);
      say(
        `${q.name}, response cache ${responseCache ? 'on' : 'off'}: ${result.rps} req/s, p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms, ` +
          `${result.errors} errors; server ${result.serverCpuMsPerRequest} ms CPU/request, event loop ${Math.round(result.serverEventLoopUtilization * 100)}% busy`,
      );
      results.push(result);
    }

    if (!subscription) {
      say(`subscription: ${SUBSCRIBERS} subscribers, ${APPENDS} appends ${SPACING} ms apart from another process`);
      subscription = await subscriptionLatency(port, history.path);
      say(
        `subscription: p50 ${subscription.p50Ms} ms, p95 ${subscription.p95Ms} ms, max ${subscription.maxMs} ms, ${subscription.missed} missed`,
      );
    }
  }

  say('read models, one query at a time, no HTTP/GraphQL');
  const readModel = await readModelTimings(history.path, largest.id, middle);

  const report = {
    results,
    subscription,
    readModel,
    events: history.events,
    history: {
      source: history.source,
      path: history.path,
      largestExperiment: largest.id,
      largestExperimentSamples: largest.sampleCount,
    },
    settings: {
      clients: CLIENTS,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      responseCache: CACHE_MODE,
      serverProcess: 'separate child process',
    },
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadavg1mAtEnd: round(loadavg()[0]!),
    },
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(
      `GraphQL over ${history.events} events (${history.source}: ${history.path}), ${CLIENTS} clients, ${SECONDS} s per query`,
    );
    console.table(results.map(({ firstError: _, ...r }) => r));
    console.log('subscription delivery (append returned in another process → SSE client received):');
    console.table([subscription]);
    console.log('read models directly (ms):');
    console.table(readModel);
    console.log(`machine: ${report.machine.cores} cores (${report.machine.cpu}), node ${report.machine.node}`);
  }
} finally {
  await stopChild(server.child);
  await history.cleanup();
}
