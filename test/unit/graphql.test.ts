import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GraphQLError } from 'graphql';
import { Observable } from 'rxjs';
import type { RecordedEvent } from '../../core/events/event.ts';
import { populationsAfterUpdates } from '../../core/projections/queries.ts';
import { openReadModels, runProjector, type Projector } from '../../core/projections/sqlite-projector.ts';
import { createStrategy } from '../../core/controller/create-strategy.ts';
import { EvolutionStrategy } from '../../core/controller/evolution.ts';
import { createExperiment, loadExperiment } from '../../core/runtime/controller-loop.ts';
import { runSearch } from '../../core/runtime/search.ts';
import { runWorker } from '../../core/runtime/trial-runner.ts';
import type { SearchConfig } from '../../core/runtime/search-config.ts';
import { TrainingFailure, type TrainerPlugin } from '../../core/runtime/trainer-plugin.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { cellConcat } from '../../core/search-space/genotype.ts';
import { parseDartsGenotype } from '../../core/search-space/darts.ts';
import { cellDot, cellText } from '../../core/search-space/render.ts';
import type { EventStore } from '../../core/store/port.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { policyUpdateColumns, policyUpdateRows, type PolicyUpdateInput } from '../../graphql/dashboard/policy-table.js';
import { errorShape } from '../../graphql/http/error-shape.ts';
import { DEFAULT_LIMITS, createGraphqlServer, type GraphqlServer } from '../../graphql/server.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';
import { testSearchConfig } from '../support/search-config.ts';

const TOKEN = 'test-token-5f1c';
const dir = await mkdtemp(join(tmpdir(), 'nasnet-graphql-'));
const storePath = join(dir, 'store.db');
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const config = (overrides: Partial<SearchConfig> = {}) => testSearchConfig(overrides, 1);

/** Rewards by agreement with NASNet-A; the first attempt of sample 1 fails, so one sample has two trials. */
function fakePlugin(): TrainerPlugin {
  const score = targetSimilarity(NASNET_A);
  return {
    name: 'fake',
    async train(job, context) {
      context.progress({ epoch: 1, epochs: 1, metrics: { loss: 1 } });
      if (job.sampleId.endsWith('-1') && job.attempt === 1) throw new TrainingFailure('out of memory', true);
      return {
        validationAccuracy: score(job.genotype),
        testAccuracy: 0.5,
        loss: 0.5,
        params: 1234,
        multAdds: 5_000_000_000,
        seconds: 0.01,
        imagesPerSec: 1,
        backend: 'fake',
        device: 'none',
      };
    },
  };
}

interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  raw: string;
}

async function post(server: GraphqlServer, body: string, headers: Record<string, string> = {}): Promise<GqlResult> {
  const response = await server.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const raw = await response.text();
  let parsed: Partial<GqlResult> = {};
  try {
    parsed = JSON.parse(raw) as Partial<GqlResult>;
  } catch {
    // Not JSON: the assertions look at raw.
  }
  return { status: response.status, data: parsed.data, errors: parsed.errors, raw };
}

function gql(
  server: GraphqlServer,
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<GqlResult> {
  return post(server, JSON.stringify({ query, variables }), headers);
}

/** The data of a query that must succeed. */
async function data<T>(server: GraphqlServer, query: string, variables?: Record<string, unknown>): Promise<T> {
  const result = await gql(server, query, variables);
  assert.equal(result.errors, undefined, result.raw);
  assert.equal(result.status, 200, result.raw);
  return result.data as T;
}

async function errorOf(
  server: GraphqlServer,
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const result = await gql(server, query, variables, headers);
  assert.ok(result.errors && result.errors.length > 0, `expected an error, got ${result.raw}`);
  return { ...result.errors[0]!, status: result.status, raw: result.raw };
}

async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

let store: EventStore;
let queryDb: SqliteConnection;
let projector: Projector;
let server: GraphqlServer;

before(async () => {
  store = await openSqliteStore(storePath);
  cleanup.push(() => store.close());
  // A real search, then an experiment whose id extends the first (its streams match g1's prefixes), and one left running.
  await createExperiment(store, { experimentId: 'g1', config: config(), seed: 3, codeVersion: 'test', writerId: 'test' });
  const outcome = await runSearch({
    store,
    experimentId: 'g1',
    writerId: 'host/1/a',
    plugin: fakePlugin(),
    workers: 2,
    signal: new AbortController().signal,
    tickMs: 20,
  });
  assert.equal(outcome.status, 'completed');
  await createExperiment(store, {
    experimentId: 'g1-2',
    config: config({ samples: 4 }),
    seed: 4,
    codeVersion: 'test',
    writerId: 'test',
  });
  await runSearch({
    store,
    experimentId: 'g1-2',
    writerId: 'host/1/b',
    plugin: fakePlugin(),
    workers: 1,
    signal: new AbortController().signal,
    tickMs: 20,
  });
  await createExperiment(store, { experimentId: 'running', config: config(), seed: 5, codeVersion: 'test', writerId: 'test' });

  const projectorDb = await openReadModels(storePath);
  cleanup.push(() => projectorDb.close());
  queryDb = await openReadModels(storePath);
  cleanup.push(() => queryDb.close());
  projector = runProjector(store, projectorDb, { batchMs: 5 });
  cleanup.push(() => projector.stop());
  await projector.caughtUp();
  server = createGraphqlServer({ store, readModels: queryDb, token: TOKEN, projector, logging: false });
  cleanup.push(() => server.close());
});

const SAMPLE_FIELDS = 'id index policyVersion cellHash status reward reused';

describe('GraphQL queries', () => {
  it('lists experiments with their counts, strategy, trainer, best reward and policy version', async () => {
    const { experiments } = await data<{ experiments: Array<Record<string, unknown>> }>(
      server,
      '{ experiments { id status createdAt config strategy trainer sampleCount completedCount failedCount bestReward policyVersion bestSample { id reward } } }',
    );
    assert.deepEqual(
      experiments.map((e) => e.id),
      ['g1', 'g1-2', 'running'],
    );
    const g1 = experiments[0]!;
    assert.equal(g1.status, 'COMPLETED');
    assert.equal(g1.strategy, 'ppo');
    assert.equal(g1.trainer, 'fake');
    assert.equal(g1.sampleCount, 12);
    assert.equal(g1.completedCount, 12);
    assert.equal(g1.failedCount, 0);
    assert.equal(g1.policyVersion, 3);
    assert.equal((g1.config as { samples: number }).samples, 12);
    assert.equal((g1.bestSample as { reward: number }).reward, g1.bestReward);
    assert.equal(experiments[2]!.status, 'RUNNING', 'ControllerInitialized: running, though no controller runs it');
    const { experiment } = await data<{ experiment: { id: string } | null }>(server, '{ experiment(id: "nope") { id } }');
    assert.equal(experiment, null);
  });

  it('pages through samples by index and by reward without gaps or repeats, one trials query per page', async () => {
    const query = `query($after: String, $order: SampleOrder) { experiment(id: "g1") { samples(first: 5, after: $after, orderBy: $order) {
      edges { cursor node { ${SAMPLE_FIELDS} trials { id attempt status } } } pageInfo { hasNextPage endCursor } } } }`;
    type Page = {
      experiment: {
        samples: {
          edges: Array<{ cursor: string; node: { id: string; index: number; reward: number; trials: unknown[] } }>;
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    for (const order of ['INDEX', 'REWARD_DESC']) {
      const seen: Array<{ id: string; index: number; reward: number }> = [];
      let afterCursor: string | null = null;
      let pages = 0;
      for (;;) {
        const page: Page = await data<Page>(server, query, { after: afterCursor, order });
        const { edges, pageInfo } = page.experiment.samples;
        seen.push(...edges.map((e) => e.node));
        pages++;
        assert.equal(pageInfo.endCursor, edges[edges.length - 1]!.cursor);
        if (!pageInfo.hasNextPage) break;
        afterCursor = pageInfo.endCursor;
      }
      assert.equal(pages, 3);
      assert.equal(new Set(seen.map((s) => s.id)).size, 12, `${order}: every sample once`);
      if (order === 'INDEX')
        assert.deepEqual(
          seen.map((s) => s.index),
          [...Array(12).keys()],
        );
      else
        for (let i = 1; i < seen.length; i++)
          assert.ok(
            seen[i - 1]!.reward > seen[i]!.reward ||
              (seen[i - 1]!.reward === seen[i]!.reward && seen[i - 1]!.index < seen[i]!.index),
            'reward order',
          );
    }

    // Trials come from one batched query per request, not one per sample.
    const statements: string[] = [];
    const spied = queryDb as unknown as Record<
      'all' | 'get' | 'allPrepared',
      (sql: string, ...rest: unknown[]) => Promise<unknown>
    >;
    const originals = { all: spied.all, get: spied.get, allPrepared: spied.allPrepared };
    for (const name of ['all', 'get', 'allPrepared'] as const) {
      spied[name] = function (this: unknown, sql: string, ...rest: unknown[]) {
        // The response cache's checkpoint reads are not the query's.
        if (!sql.includes('rm_checkpoints')) statements.push(sql);
        return originals[name].call(this, sql, ...rest);
      };
    }
    try {
      const page = await data<Page>(
        server,
        `{ experiment(id: "g1") { samples(first: 12) { edges { node { id trials { id worker plugin backend status validationAccuracy testAccuracy params multAdds seconds error } } } } } }`,
      );
      const edges = page.experiment.samples.edges;
      assert.equal(edges.length, 12);
      assert.ok(statements.length <= 3, `${statements.length} statements for 12 samples and their trials`);
      assert.equal(statements.filter((sql) => sql.includes('rm_trials')).length, 1, 'one trials query');
      const retried = edges.find((e) => e.node.id === 'g1-1')!.node.trials as Array<{
        attempt?: number;
        status: string;
        error: string | null;
        multAdds: number;
      }>;
      assert.deepEqual(
        retried.map((t) => t.status),
        ['FAILED', 'COMPLETED'],
      );
      assert.equal(retried[0]!.error, 'out of memory');
      assert.equal(retried[1]!.multAdds, 5_000_000_000, 'multiply-adds beyond 32 bits');
    } finally {
      Object.assign(spied, originals);
    }
  });

  it('serves best cells, cells as blocks, concat, text and dot, policy updates and the reward curve', async () => {
    type Cell = {
      blocks: Array<{ inputA: number; inputB: number; opA: string; opB: string; combine: string }>;
      concat: number[];
      text: string;
      dot: string;
    };
    const { experiment } = await data<{
      experiment: {
        bestReward: number;
        bestCells: Array<{
          id: string;
          reward: number;
          cellHash: string;
          genotype: typeof NASNET_A;
          darts: string;
          normal: Cell;
          reduction: Cell;
        }>;
        policyUpdates: Array<Record<string, unknown>>;
        rewardCurve: Array<{ index: number; reward: number; source: string; bestSoFar: number }>;
      };
    }>(
      server,
      `{ experiment(id: "g1") { bestReward
          bestCells(top: 3) { id reward cellHash genotype darts normal { blocks { inputA inputB opA opB combine } concat text dot } reduction { concat text } }
          policyUpdates { version sampleIds meanReward baselineBefore baselineAfter loss approxKl clipFraction entropy paramsDigestBefore paramsDigestAfter position }
          rewardCurve { index sampleId reward source bestSoFar } } }`,
    );
    const best = experiment.bestCells;
    assert.ok(best.length >= 1 && best.length <= 3);
    assert.equal(best[0]!.reward, experiment.bestReward);
    assert.equal(new Set(best.map((c) => c.cellHash)).size, best.length, 'distinct cells');
    const genotype = best[0]!.genotype;
    assert.equal(best[0]!.normal.text, cellText(genotype, 'normal').join('\n'));
    assert.equal(best[0]!.normal.dot, cellDot(genotype, 'normal'));
    assert.deepEqual(parseDartsGenotype(best[0]!.darts), genotype, 'the DARTS text reads back as the same cells');
    assert.deepEqual(best[0]!.normal.concat, cellConcat(genotype, 'normal'));
    assert.deepEqual(best[0]!.reduction.concat, cellConcat(genotype, 'reduction'));
    assert.deepEqual(
      best[0]!.normal.blocks.map((b) => [b.opA, b.inputA, b.opB, b.inputB, b.combine]),
      genotype.normal,
    );

    const recorded = (await allEvents(store)).filter((e) => e.type === 'PolicyUpdated' && e.data.experimentId === 'g1');
    assert.deepEqual(
      experiment.policyUpdates.map((u) => [u.version, u.paramsDigestAfter, u.position, (u.sampleIds as string[]).length]),
      recorded.map((e) => [
        e.type === 'PolicyUpdated' ? e.data.policyVersion : -1,
        e.type === 'PolicyUpdated' ? e.data.paramsDigestAfter : '',
        e.position.toString(),
        4,
      ]),
    );
    assert.equal(typeof experiment.policyUpdates[0]!.approxKl, 'number', 'PPO statistics');

    assert.deepEqual(
      experiment.rewardCurve.map((p) => p.index),
      [...Array(12).keys()],
    );
    assert.equal(experiment.rewardCurve.at(-1)!.bestSoFar, experiment.bestReward);
    assert.ok(experiment.rewardCurve.every((p) => p.source === 'TRAINED'));

    const thin = await data<{ experiment: { rewardCurve: Array<{ index: number; bestSoFar: number }> } }>(
      server,
      '{ experiment(id: "g1") { rewardCurve(maxPoints: 4) { index bestSoFar } } }',
    );
    assert.deepEqual(
      thin.experiment.rewardCurve.map((p) => p.index),
      [0, 4, 7, 11],
    );
    assert.equal(thin.experiment.rewardCurve.at(-1)!.bestSoFar, experiment.bestReward);

    const { sample } = await data<{ sample: { id: string; index: number } | null }>(
      server,
      '{ sample(id: "g1-7") { id index } }',
    );
    assert.deepEqual(sample, { id: 'g1-7', index: 7 });
  });

  it('pages through the raw log with global positions, by experiment (no prefix collisions) and by type', async () => {
    const log = await allEvents(store);
    const query = `query($after: String, $experimentId: ID, $types: [String!]) { events(first: 7, after: $after, experimentId: $experimentId, types: $types) {
      edges { cursor node { id position stream revision type version experimentId data metadata { timestamp correlationId writerId } } }
      pageInfo { hasNextPage endCursor } } }`;
    type Events = {
      events: {
        edges: Array<{
          cursor: string;
          node: { position: string; stream: string; type: string; experimentId: string | null; revision: string };
        }>;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    };
    const readAllPages = async (variables: Record<string, unknown>) => {
      const positions: string[] = [];
      const nodes: Events['events']['edges'][number]['node'][] = [];
      let cursor: string | null = null;
      for (;;) {
        const page: Events = await data<Events>(server, query, { ...variables, after: cursor });
        for (const edge of page.events.edges) {
          assert.equal(edge.cursor, edge.node.position);
          positions.push(edge.node.position);
          nodes.push(edge.node);
        }
        if (!page.events.pageInfo.hasNextPage) break;
        cursor = page.events.pageInfo.endCursor;
      }
      return { positions, nodes };
    };
    const everything = await readAllPages({});
    assert.deepEqual(
      everything.positions,
      log.map((e) => e.position.toString()),
      'the whole log, in order, once',
    );
    assert.equal(everything.nodes[0]!.revision, '0');

    const g1 = await readAllPages({ experimentId: 'g1' });
    const expected = log.filter((e) => (e.data as { experimentId?: string }).experimentId === 'g1');
    assert.deepEqual(
      g1.positions,
      expected.map((e) => e.position.toString()),
    );
    assert.ok(
      g1.nodes.every((n) => n.experimentId === 'g1'),
      'no event of g1-2',
    );
    assert.ok(g1.nodes.some((n) => n.stream.startsWith('trial-g1-')) && g1.nodes.some((n) => n.stream === 'experiment-g1'));

    const rewards = await readAllPages({ experimentId: 'g1', types: ['RewardReported', 'PolicyUpdated'] });
    assert.deepEqual(
      rewards.positions,
      expected.filter((e) => e.type === 'RewardReported' || e.type === 'PolicyUpdated').map((e) => e.position.toString()),
    );
    // A sparse filter: every match once, however far apart.
    const completions = await readAllPages({ types: ['ExperimentCompleted'] });
    assert.deepEqual(
      completions.positions,
      log.filter((e) => e.type === 'ExperimentCompleted').map((e) => e.position.toString()),
    );
    assert.equal(completions.positions.length, 2);

    const { headPosition } = await data<{ headPosition: string }>(server, '{ headPosition }');
    assert.equal(headPosition, log.at(-1)!.position.toString());
  });

  it('audits an experiment', async () => {
    const { audit } = await data<{
      audit: { ok: boolean; checkedSamples: number; checkedUpdates: number; firstDivergence: unknown };
    }>(server, '{ audit(experimentId: "g1") { ok checkedSamples checkedUpdates firstDivergence { position what } } }');
    assert.deepEqual(audit, { ok: true, checkedSamples: 12, checkedUpdates: 3, firstDivergence: null });
    // What it covers: the last event of g1 it read, from the start.
    const covered = await data<{ audit: { position: string; from: string } }>(
      server,
      '{ audit(experimentId: "g1") { position from } }',
    );
    const lastOfG1 = (await allEvents(store)).filter(
      (e) =>
        (e.data as { experimentId?: string }).experimentId === 'g1' &&
        ['ArchitectureSampled', 'RewardReported', 'PolicyUpdated'].includes(e.type),
    );
    assert.deepEqual(covered.audit, { position: lastOfG1.at(-1)!.position.toString(), from: '0' });
    const missing = await errorOf(server, '{ audit(experimentId: "nope") { ok } }');
    assert.match(missing.message, /no experiment "nope"/);
  });
});

/** Reads SSE messages from a response body until `until` accepts the list so far. */
async function readSse(
  response: Response,
  until: (messages: Array<Record<string, unknown>>) => boolean,
  timeoutMs = 10_000,
): Promise<Array<Record<string, unknown>>> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const messages: Array<Record<string, unknown>> = [];
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(messages)) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`no SSE message in time; got ${JSON.stringify(messages)}`)),
            Math.max(1, deadline - Date.now()),
          ),
        ),
      ]);
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const dataLine = block.split('\n').find((line) => line.startsWith('data: '));
        if (dataLine) messages.push(JSON.parse(dataLine.slice('data: '.length)) as Record<string, unknown>);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return messages;
}

describe('GraphQL queries for scripts: filters, orders, backward pages, experiments, comparisons, trial history', () => {
  type Node = {
    id: string;
    index: number;
    reward: number | null;
    status: string;
    cellHash: string;
    policyVersion: number;
    finishedAt: string | null;
  };
  type SamplesPage = {
    experiment: {
      samples: {
        edges: Array<{ cursor: string; node: Node }>;
        pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
      };
    };
  };
  const NODE = 'id index reward status cellHash policyVersion finishedAt';
  const samplesQuery = `query($first: Int, $after: String, $last: Int, $before: String, $order: SampleOrder, $filter: SampleFilter) {
    experiment(id: "g1") { samples(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter) {
      edges { cursor node { ${NODE} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
  const page = async (variables: Record<string, unknown>) =>
    (await data<SamplesPage>(server, samplesQuery, variables)).experiment.samples;
  const all = async () => (await page({ first: 100 })).edges.map((e) => e.node);

  it('filters samples by status, reward range, policy version and cell hash, in four orders', async () => {
    const samples = await all();
    assert.equal(samples.length, 12);
    const byIndex = (a: Node, b: Node) => a.index - b.index;
    const indexes = async (order: string, filter?: Record<string, unknown>) =>
      (await page({ first: 100, order, filter })).edges.map((e) => e.node.index);

    const ascending = [...samples].sort((a, b) => a.reward! - b.reward! || byIndex(a, b)).map((s) => s.index);
    assert.deepEqual(await indexes('REWARD_ASC'), ascending);
    const byTime = [...samples].sort((a, b) => a.finishedAt!.localeCompare(b.finishedAt!) || byIndex(a, b)).map((s) => s.index);
    assert.deepEqual(await indexes('COMPLETED_AT'), byTime);

    const rewards = samples.map((s) => s.reward!).sort((a, b) => a - b);
    const [low, high] = [rewards[3]!, rewards[8]!];
    assert.deepEqual(
      await indexes('INDEX', { minReward: low, maxReward: high }),
      samples.filter((s) => s.reward! >= low && s.reward! <= high).map((s) => s.index),
    );
    assert.deepEqual(
      await indexes('REWARD_DESC', { status: ['COMPLETED'], policyVersion: 1 }),
      samples
        .filter((s) => s.policyVersion === 1)
        .sort((a, b) => b.reward! - a.reward! || byIndex(a, b))
        .map((s) => s.index),
    );
    const hash = samples[5]!.cellHash;
    assert.deepEqual(
      await indexes('INDEX', { cellHash: hash }),
      samples.filter((s) => s.cellHash === hash).map((s) => s.index),
    );
    assert.deepEqual(await indexes('INDEX', { status: ['FAILED', 'REUSED'] }), []);
  });

  it('pages backwards with last/before, and says exactly whether pages lie either side', async () => {
    const end = await page({ last: 5 });
    assert.deepEqual(
      end.edges.map((e) => e.node.index),
      [7, 8, 9, 10, 11],
    );
    assert.equal(end.pageInfo.hasPreviousPage, true);
    assert.equal(end.pageInfo.hasNextPage, false);
    const middle = await page({ last: 5, before: end.pageInfo.startCursor });
    assert.deepEqual(
      middle.edges.map((e) => e.node.index),
      [2, 3, 4, 5, 6],
    );
    assert.equal(middle.pageInfo.hasNextPage, true);
    const start = await page({ last: 5, before: middle.pageInfo.startCursor });
    assert.deepEqual(
      start.edges.map((e) => e.node.index),
      [0, 1],
    );
    assert.deepEqual([start.pageInfo.hasPreviousPage, start.pageInfo.hasNextPage], [false, true]);
    const forwards = await page({ first: 3, after: start.pageInfo.endCursor });
    assert.deepEqual(
      forwards.edges.map((e) => e.node.index),
      [2, 3, 4],
    );
    assert.deepEqual([forwards.pageInfo.hasPreviousPage, forwards.pageInfo.hasNextPage], [true, true]);
  });

  it('names the argument that is wrong', async () => {
    const refused = async (variables: Record<string, unknown>, message: RegExp, code = 'BAD_USER_INPUT') => {
      const error = await errorOf(server, samplesQuery, variables);
      assert.match(error.message, message);
      assert.equal(error.extensions?.code, code);
    };
    await refused({ first: 2, last: 2 }, /give first or last, not both/);
    await refused({ first: 2, before: 'x' }, /before goes with last/);
    await refused({ last: 101 }, /last must be between 1 and 100 \(got 101\)/);
    await refused({ filter: { minReward: 0.9, maxReward: 0.1 } }, /filter.minReward \(0.9\) is above filter.maxReward \(0.1\)/);
    await refused({ filter: { cellHash: "x' OR 1=1" } }, /filter.cellHash must be a cell hash/);
    await refused({ filter: { policyVersion: -1 } }, /filter.policyVersion must be 0 or more/);
    const byIndex = await page({ first: 1 });
    await refused(
      { last: 2, order: 'REWARD_ASC', before: byIndex.pageInfo.endCursor },
      /before is not a cursor of this connection \(order REWARD_ASC\)/,
      'INVALID_CURSOR',
    );
  });

  it('pages experiments newest first, filtered by status, strategy and trainer', async () => {
    type Page = {
      experimentsPage: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } };
    };
    const query = `query($after: String, $filter: ExperimentFilter, $order: ExperimentOrder) {
      experimentsPage(first: 2, after: $after, orderBy: $order, filter: $filter) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
    const ids = async (order: string, filter?: Record<string, unknown>) => {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const result: Page = await data<Page>(server, query, { after, order, filter });
        seen.push(...result.experimentsPage.edges.map((e) => e.node.id));
        if (!result.experimentsPage.pageInfo.hasNextPage) return seen;
        after = result.experimentsPage.pageInfo.endCursor;
      }
    };
    assert.deepEqual(await ids('CREATED_AT_DESC'), ['running', 'g1-2', 'g1']);
    assert.deepEqual(await ids('CREATED_AT', { status: ['COMPLETED'] }), ['g1', 'g1-2']);
    assert.deepEqual(await ids('CREATED_AT', { strategy: 'ppo', trainer: 'fake' }), ['g1', 'g1-2', 'running']);
    assert.deepEqual(await ids('CREATED_AT_DESC', { status: ['RUNNING', 'STOPPED'], trainer: 'fake' }), ['running']);
    assert.deepEqual(await ids('CREATED_AT', { strategy: 'evolution' }), []);
    assert.deepEqual(await ids('CREATED_AT', { trainer: 'torch' }), []);
  });

  it('compares experiments side by side, null for an unknown id, at most 10', async () => {
    type Compared = {
      compareExperiments: Array<{
        id: string;
        bestReward: number;
        rewardCurve: unknown[];
        bestCells: Array<{ reward: number }>;
      } | null>;
    };
    const { compareExperiments } = await data<Compared>(
      server,
      '{ compareExperiments(ids: ["g1-2", "nope", "g1"]) { id bestReward rewardCurve(maxPoints: 3) { index bestSoFar } bestCells(top: 1) { reward } } }',
    );
    assert.deepEqual(
      compareExperiments.map((e) => e?.id ?? null),
      ['g1-2', null, 'g1'],
    );
    assert.equal(compareExperiments[2]!.rewardCurve.length, 3);
    assert.equal(compareExperiments[2]!.bestCells[0]!.reward, compareExperiments[2]!.bestReward);
    const error = await errorOf(
      server,
      `{ compareExperiments(ids: [${Array.from({ length: 11 }, (_, i) => `"e${i}"`).join(',')}]) { id } }`,
    );
    assert.match(error.message, /at most 10 experiments \(got 11\)/);
  });

  it("gives a trial's per-epoch metrics and its attempt's own events with their metadata", async () => {
    type Trials = {
      sample: {
        trials: Array<{
          attempt: number;
          status: string;
          error: string | null;
          metrics: Array<{ epoch: number; epochs: number; metrics: Record<string, number>; at: string }>;
          events: Array<{ type: string; data: { attempt: number }; metadata: { writerId: string } }>;
        }>;
      };
    };
    const { sample } = await data<Trials>(
      server,
      '{ sample(id: "g1-1") { trials { attempt status error metrics { epoch epochs metrics at } events { type data metadata { writerId } } } } }',
    );
    assert.deepEqual(
      sample.trials.map((t) => [t.attempt, t.status, t.error]),
      [
        [1, 'FAILED', 'out of memory'],
        [2, 'COMPLETED', null],
      ],
    );
    for (const trial of sample.trials) {
      assert.deepEqual(
        trial.metrics.map((m) => [m.epoch, m.epochs, m.metrics]),
        [[1, 1, { loss: 1 }]],
      );
      assert.ok(trial.events.every((e) => e.data.attempt === trial.attempt && e.metadata.writerId.length > 0));
      assert.equal(trial.events[0]!.type, 'TrialClaimed');
    }
    assert.ok(sample.trials[0]!.events.some((e) => e.type === 'TrainingFailed'));
    assert.ok(sample.trials[1]!.events.some((e) => e.type === 'TrainingCompleted'));
  });
});

describe('GraphQL evolution populations', () => {
  let evoServer: GraphqlServer;
  let evoQueryDb: SqliteConnection;
  const EVOLUTION = { batchSize: 4, populationSize: 8, tournamentSize: 3 };

  before(async () => {
    const path = join(dir, 'evolution.db');
    const evoStore = await openSqliteStore(path);
    cleanup.push(() => evoStore.close());
    await createExperiment(evoStore, {
      experimentId: 'evo',
      config: config({ strategy: 'evolution', controller: EVOLUTION, samples: 22 }),
      seed: 6,
      codeVersion: 'test',
      writerId: 'test',
    });
    const outcome = await runSearch({
      store: evoStore,
      experimentId: 'evo',
      writerId: 'host/1/e',
      plugin: fakePlugin(),
      workers: 2,
      signal: new AbortController().signal,
      tickMs: 20,
    });
    assert.equal(outcome.status, 'completed');
    await createExperiment(evoStore, {
      experimentId: 'ppo',
      config: config({ samples: 4 }),
      seed: 6,
      codeVersion: 'test',
      writerId: 'test',
    });
    await runSearch({
      store: evoStore,
      experimentId: 'ppo',
      writerId: 'host/1/p',
      plugin: fakePlugin(),
      workers: 1,
      signal: new AbortController().signal,
      tickMs: 20,
    });
    const evoProjectorDb = await openReadModels(path);
    cleanup.push(() => evoProjectorDb.close());
    evoQueryDb = await openReadModels(path);
    cleanup.push(() => evoQueryDb.close());
    const evoProjector = runProjector(evoStore, evoProjectorDb, { batchMs: 5 });
    cleanup.push(() => evoProjector.stop());
    await evoProjector.caughtUp();
    evoServer = createGraphqlServer({ store: evoStore, readModels: evoQueryDb, projector: evoProjector, logging: false });
    cleanup.push(() => evoServer.close());

    // The populations the controller really had, replayed from the log, to compare with what GraphQL reads from the samples.
    const state = await loadExperiment(evoStore, 'evo');
    const strategy = createStrategy('evolution', 6, EVOLUTION);
    assert.ok(strategy instanceof EvolutionStrategy);
    replayed = state.updates.map((update) => {
      strategy.update(
        update.samples.map(({ sampleId, reward }) => ({ sample: state.samples.get(state.sampleIndex.get(sampleId)!)!, reward })),
      );
      return strategy.members;
    });
  });
  let replayed: Array<Array<{ actions: number[]; reward: number }>> = [];

  type Member = { id: string; index: number; reward: number; actions: number[] };

  it('serves the population each update left, best first (ties to the youngest), without replaying the controller', async () => {
    const { experiment } = await data<{
      experiment: { strategy: string; policyUpdates: Array<{ version: number; populationSize: number; population: Member[] }> };
    }>(
      evoServer,
      '{ experiment(id: "evo") { strategy policyUpdates { version populationSize population(top: 8) { id index reward actions } } } }',
    );
    assert.equal(experiment.strategy, 'evolution');
    // 22 samples in batches of 4: five full batches and one of 2.
    assert.deepEqual(
      experiment.policyUpdates.map((u) => u.version),
      [1, 2, 3, 4, 5, 6],
    );
    assert.equal(replayed.length, 6);
    experiment.policyUpdates.forEach((update, i) => {
      const truth = replayed[i]!;
      assert.equal(update.populationSize, truth.length, `v${update.version} size`);
      assert.equal(update.populationSize, Math.min(8, 4 * update.version), `v${update.version} size`);
      const key = (m: { actions: number[]; reward: number }) => `${m.reward}:${m.actions.join(',')}`;
      assert.deepEqual(update.population.map(key).sort(), truth.map(key).sort(), `v${update.version} members`);
      for (let k = 1; k < update.population.length; k++) {
        const [a, b] = [update.population[k - 1]!, update.population[k]!];
        assert.ok(
          a.reward > b.reward || (a.reward === b.reward && a.index > b.index),
          `v${update.version} order at ${k}: ${JSON.stringify(update.population.map((m) => [m.index, m.reward]))}`,
        );
      }
      // The last 8 samples before the next batch (the sixth batch is short: 20 and 21 push out 12 and 13, not 16 and 17).
      const end = Math.min(update.version * 4, 22);
      assert.deepEqual(
        update.population.map((m) => m.index).sort((a, b) => a - b),
        Array.from({ length: update.populationSize }, (_, k) => end - update.populationSize + k),
      );
    });

    const top = await data<{ experiment: { policyUpdates: Array<{ population: Member[] }> } }>(
      evoServer,
      '{ experiment(id: "evo") { policyUpdates { population { id reward } } } }',
    );
    // The short last update asked for alone: its window is found without the others'.
    const [alone] = await populationsAfterUpdates(evoQueryDb, 'evo', { batchSize: 4, populationSize: 8 }, [
      { version: 6, top: 8 },
    ]);
    assert.deepEqual(
      alone!.best.map((m) => m.sampleId),
      experiment.policyUpdates.at(-1)!.population.map((m) => m.id),
    );
    assert.equal(alone!.size, 8);
    assert.deepEqual(
      top.experiment.policyUpdates.map((u) => u.population.map((m) => m.id)),
      experiment.policyUpdates.map((u) => u.population.slice(0, 5).map((m) => m.id)),
      'top defaults to 5',
    );
  });

  it('answers the dashboard’s own detail query (within the cost limit) with what its policy-update table shows', async () => {
    const source = await readFile(fileURLToPath(new URL('../../graphql/dashboard/dashboard.js', import.meta.url)), 'utf8');
    const constant = (name: string) => source.match(new RegExp(`const ${name} = [\`']([^\`']*)[\`']`))![1]!;
    const query = constant('DETAIL_QUERY')
      .replaceAll('${EXPERIMENT_FIELDS}', constant('EXPERIMENT_FIELDS'))
      .replaceAll('${CELL_FIELDS}', constant('CELL_FIELDS'));
    const { experiment } = await data<{ experiment: { strategy: string; policyUpdates: PolicyUpdateInput[] } }>(
      evoServer,
      query,
      { id: 'evo' },
    );
    const rows = policyUpdateRows(experiment.strategy, experiment.policyUpdates);
    const columns = policyUpdateColumns(experiment.strategy);
    const newest = Object.fromEntries(columns.map((column, i) => [column, rows[0]!.cells[i]!.text]));
    const best = experiment.policyUpdates.at(-1)!.population![0]!;
    assert.equal(newest.version, 'v6');
    assert.equal(newest.population, '8');
    assert.equal(newest['population best'], best.reward!.toFixed(4));
    assert.equal(newest['best member'], best.id);
  });

  it('answers null for other strategies and refuses a top over the page limit', async () => {
    const { experiment } = await data<{ experiment: { policyUpdates: Array<{ population: null; populationSize: null }> } }>(
      evoServer,
      '{ experiment(id: "ppo") { policyUpdates { populationSize population(top: 3) { id } } } }',
    );
    assert.equal(experiment.policyUpdates.length, 1);
    assert.deepEqual(experiment.policyUpdates[0], { populationSize: null, population: null });
    const tooMany = await errorOf(evoServer, '{ experiment(id: "evo") { policyUpdates { population(top: 101) { id } } } }');
    assert.equal(tooMany.message, 'top must be between 1 and 100 (got 101)');
  });
});

describe('GraphQL subscription', () => {
  it('streams events appended after subscribing, over SSE, filtered by experiment', async () => {
    const response = await server.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { events(experimentId: "live") { position type stream experimentId data } }' }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    // The response exists once the subscription does: these appends come after it.
    await createExperiment(store, { experimentId: 'live-2', config: config(), seed: 1, codeVersion: 'test', writerId: 'test' });
    await createExperiment(store, { experimentId: 'live', config: config(), seed: 1, codeVersion: 'test', writerId: 'test' });
    const messages = await readSse(response, (m) => m.length >= 2);
    const events = messages.map((m) => (m.data as { events: { type: string; experimentId: string } }).events);
    assert.deepEqual(
      events.map((e) => [e.type, e.experimentId]),
      [
        ['ExperimentCreated', 'live'],
        ['ControllerInitialized', 'live'],
      ],
    );
  });

  it('replays from a position with `after`, and ends a subscription that falls too far behind with an error saying where to resume', async () => {
    const small = createGraphqlServer({ store, readModels: queryDb, limits: { maxSubscriptionBacklog: 3 }, logging: false });
    cleanup.push(() => small.close());
    const response = await small.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { events(after: "0") { position } }' }),
    });
    const messages = await readSse(response, (m) => m.some((x) => x.errors !== undefined));
    const delivered = messages.filter((m) => m.data).map((m) => (m.data as { events: { position: string } }).events.position);
    assert.deepEqual(delivered.slice(0, 3), ['1', '2', '3']);
    const error = messages.find((m) => m.errors)!.errors as Array<{ message: string; extensions: { code: string } }>;
    assert.equal(error[0]!.extensions.code, 'SUBSCRIPTION_BEHIND');
    assert.match(error[0]!.message, new RegExp(`after: "${delivered.at(-1)}"`));
  });
});

describe('GraphQL mutation stopExperiment', () => {
  const stop = 'mutation($id: ID!) { stopExperiment(id: $id) { id status } }';

  it('is refused without the bearer token, with a wrong one, and on a server started without one', async () => {
    const before = (await allEvents(store)).length;
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ]) {
      const error = await errorOf(server, stop, { id: 'running' }, headers);
      assert.equal(error.extensions?.code, 'UNAUTHENTICATED', error.raw);
    }
    const open = createGraphqlServer({ store, readModels: queryDb, logging: false });
    cleanup.push(() => open.close());
    const error = await errorOf(open, stop, { id: 'running' }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(error.extensions?.code, 'FORBIDDEN');
    assert.equal((await allEvents(store)).length, before, 'nothing written');
  });

  it('appends ExperimentStopped with the token and returns the experiment as stopped; refuses unknown and finished experiments', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const status = '{ experiment(id: "running") { status sampleCount } }';
    // Asked twice, so the second answer may come from the response cache: it must not outlive the stop.
    for (let i = 0; i < 2; i++)
      assert.deepEqual(await data(server, status), { experiment: { status: 'RUNNING', sampleCount: 0 } });
    const headBefore = (await data<{ headPosition: string }>(server, '{ headPosition }')).headPosition;
    const result = await gql(server, stop, { id: 'running' }, auth);
    assert.equal(result.errors, undefined, result.raw);
    assert.deepEqual(result.data, { stopExperiment: { id: 'running', status: 'STOPPED' } });
    const stopped = (await allEvents(store)).filter((e) => e.type === 'ExperimentStopped');
    assert.equal(stopped.length, 1);
    assert.equal(stopped[0]!.stream, 'experiment-running');
    assert.deepEqual(stopped[0]!.data, { experimentId: 'running', reason: 'stopped through GraphQL', samples: 0 });
    assert.deepEqual(await data(server, status), { experiment: { status: 'STOPPED', sampleCount: 0 } });
    assert.equal(
      (await data<{ headPosition: string }>(server, '{ headPosition }')).headPosition,
      stopped[0]!.position.toString(),
    );
    assert.notEqual(headBefore, stopped[0]!.position.toString());

    assert.equal((await errorOf(server, stop, { id: 'running' }, auth)).extensions?.code, 'NOT_RUNNING');
    assert.equal((await errorOf(server, stop, { id: 'g1' }, auth)).extensions?.code, 'NOT_RUNNING');
    assert.equal((await errorOf(server, stop, { id: 'nope' }, auth)).extensions?.code, 'NOT_FOUND');
    assert.equal((await errorOf(server, stop, { id: "'; DROP TABLE events; --" }, auth)).extensions?.code, 'NOT_FOUND');
    assert.equal((await allEvents(store)).filter((e) => e.type === 'ExperimentStopped').length, 1);
  });
});

describe('GraphQL mutations createExperiment and resumeExperiment', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const create = 'mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id status sampleCount config } }';
  const resume = 'mutation($id: ID!) { resumeExperiment(id: $id) { id status } }';
  const small = {
    trainer: 'fake',
    dataset: 'none',
    samples: 4,
    controller: { batchSize: 2, ppoEpochs: 1 },
    network: { N: 1, filters: 4 },
    epochs: 1,
  };

  /** A `nasnet worker` for one experiment, in this process: trains until the experiment completes. */
  const worker = (experimentId: string) =>
    runWorker({
      store,
      plugin: fakePlugin(),
      workerId: `w-${experimentId}`,
      concurrency: 1,
      experimentId,
      signal: new AbortController().signal,
      exitWhenDone: true,
      tickMs: 20,
    });

  async function settled(experimentId: string, status: string): Promise<{ status: string; sampleCount: number }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { experiment } = await data<{ experiment: { status: string; sampleCount: number } }>(
        server,
        `{ experiment(id: "${experimentId}") { status sampleCount } }`,
      );
      if (experiment.status === status || Date.now() > deadline) return experiment;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('records an experiment as nasnet search does, runs its controller here, and workers elsewhere finish it', {
    timeout: 60_000,
  }, async () => {
    const result = await gql(server, create, { input: { id: 'api-1', preset: 'tiny', config: small, seed: 7 } }, auth);
    assert.equal(result.errors, undefined, result.raw);
    const created = (result.data as { createExperiment: { id: string; status: string; config: Record<string, unknown> } })
      .createExperiment;
    assert.equal(created.id, 'api-1');
    assert.equal(created.status, 'RUNNING');
    assert.equal(created.config.preset, 'tiny');
    assert.equal(created.config.samples, 4);
    const events = (await allEvents(store)).filter((e) => e.stream === 'experiment-api-1');
    assert.deepEqual(
      events.slice(0, 2).map((e) => e.type),
      ['ExperimentCreated', 'ControllerInitialized'],
    );
    assert.equal((events[0]!.data as { seed: number }).seed, 7);
    assert.match(events[0]!.metadata.writerId, /^graphql:/);
    const report = await worker('api-1');
    assert.equal(report.trained, 4);
    assert.deepEqual(await settled('api-1', 'COMPLETED'), { status: 'COMPLETED', sampleCount: 4 });
    const audit = await data<{ audit: { ok: boolean; checkedUpdates: number } }>(
      server,
      '{ audit(experimentId: "api-1") { ok checkedUpdates } }',
    );
    assert.deepEqual(audit.audit, { ok: true, checkedUpdates: 2 });
  });

  it('resumes a stopped experiment in this server, once at a time, and never a completed one', { timeout: 60_000 }, async () => {
    const created = await gql(server, create, { input: { id: 'api-2', config: small, start: false } }, auth);
    assert.equal(created.errors, undefined, created.raw);
    await gql(server, 'mutation { stopExperiment(id: "api-2") { id } }', undefined, auth);
    assert.equal((await settled('api-2', 'STOPPED')).status, 'STOPPED');
    const resumed = await gql(server, resume, { id: 'api-2' }, auth);
    assert.equal(resumed.errors, undefined, resumed.raw);
    assert.equal((await errorOf(server, resume, { id: 'api-2' }, auth)).extensions?.code, 'ALREADY_RUNNING');
    await worker('api-2');
    assert.equal((await settled('api-2', 'COMPLETED')).status, 'COMPLETED');
    const types = (await allEvents(store)).filter((e) => e.stream === 'experiment-api-2').map((e) => e.type);
    assert.ok(types.includes('ExperimentResumed') && types.at(-1) === 'ExperimentCompleted', types.join(' '));
    assert.equal((await errorOf(server, resume, { id: 'api-2' }, auth)).extensions?.code, 'NOT_RESUMABLE');
    assert.equal((await errorOf(server, resume, { id: 'nope' }, auth)).extensions?.code, 'NOT_FOUND');
  });

  it('names the field that is wrong, needs the token, and writes nothing when refused', async () => {
    const before = (await allEvents(store)).length;
    const refused = async (
      input: Record<string, unknown>,
      message: RegExp,
      code = 'BAD_USER_INPUT',
      headers: Record<string, string> = auth,
    ) => {
      const error = await errorOf(server, create, { input }, headers);
      assert.match(error.message, message);
      assert.equal(error.extensions?.code, code);
    };
    await refused({ config: small }, /createExperiment needs the header/, 'UNAUTHENTICATED', {});
    await refused({ preset: 'huge' }, /input.preset must be one of tiny, demo, small, paper \(got "huge"\)/);
    await refused({ config: { ...small, samples: 0 } }, /^input\.config\.samples .*\(got 0\)/);
    await refused({ config: { ...small, colour: 'red' } }, /^input\.config\.colour is not a known setting/);
    await refused({ config: [1, 2] }, /input.config must be an object/);
    await refused({ id: 'a b', config: small }, /input.id must be letters, digits/);
    await refused({ id: 'api-1', config: small }, /experiment api-1 exists already/, 'ALREADY_EXISTS');
    assert.equal((await errorOf(server, resume, { id: 'g1' }, {})).extensions?.code, 'UNAUTHENTICATED');
    assert.equal((await allEvents(store)).length, before, 'nothing written');
  });
});

describe('GraphQL errors echo nothing and always carry a code', () => {
  it("drops the parser's copy of a malformed body and keeps its 400", async () => {
    const result = await post(server, `{"query": "{ headPosition }"${'x'.repeat(60_000)}`);
    assert.equal(result.status, 400);
    assert.ok(result.raw.length < 500, `a ${result.raw.length}-byte answer to a 60 KB body`);
    assert.deepEqual(result.errors, [{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }]);
  });

  it('quotes at most 80 characters of a name it was sent', async () => {
    const error = await errorOf(server, `{ ${'a'.repeat(60_000)} }`);
    assert.match(error.message, /^Cannot query field "a{80}…" on type "Query"\.$/);
    assert.equal(error.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.ok(error.raw.length < 500);
  });

  it('shapes errors inside a subscription stream too: masked, with a code, nothing of the server in them', async () => {
    const [first] = await allEvents(store);
    const broken = Object.create(store) as EventStore;
    // One event the schema cannot serve (no type), then the store fails with a path in its message.
    broken.subscribe = () =>
      new Observable<RecordedEvent>((subscriber) => {
        subscriber.next({ ...first!, type: null } as unknown as RecordedEvent);
        setTimeout(() => subscriber.error(new Error('SQLITE_CORRUPT: database disk image is malformed at /secret/x.db')), 20);
      });
    const streaming = createGraphqlServer({ store: broken, readModels: queryDb, logging: false });
    cleanup.push(() => streaming.close());
    const response = await streaming.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { events { type } }' }),
    });
    const text = await response.text();
    const results = [...text.matchAll(/^data: (\{.*\})$/gm)].map(
      (m) => JSON.parse(m[1]!) as { errors?: Array<{ message: string; extensions?: { code?: string } }> },
    );
    const errors = results.flatMap((r) => r.errors ?? []);
    assert.equal(errors.length, 2, text);
    assert.ok(
      errors.every((e) => typeof e.extensions?.code === 'string'),
      text,
    );
    assert.equal(errors[1]!.message, 'Unexpected error.');
    assert.doesNotMatch(text, /secret|SQLITE/);
  });

  it('gives an error a stream carries the shape of every other: a code, and no long echo', () => {
    const hooks = errorShape().onSubscribe!({} as never) as unknown as {
      onSubscribeResult: () => { onNext: (payload: { result: { errors: GraphQLError[] } }) => void };
    };
    const error = new GraphQLError(`no experiment "${'x'.repeat(300)}"`);
    hooks.onSubscribeResult().onNext({ result: { errors: [error] } });
    assert.equal(error.extensions.code, 'BAD_REQUEST');
    assert.equal(error.message, `no experiment "${'x'.repeat(80)}…"`);
  });

  it('says why validation stopped, and gives limit errors a code instead of "Syntax Error"', async () => {
    const repeated = await errorOf(server, `{ ${'headPosition '.repeat(1000)} }`);
    assert.equal(repeated.extensions?.code, 'QUERY_TOO_COMPLEX');
    assert.match(repeated.message, /^validation stopped: .*send a smaller query$/);
    const aliases = await errorOf(server, `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: headPosition`).join(' ')} }`);
    assert.deepEqual(
      [aliases.message, aliases.extensions?.code],
      ['Aliases limit of 15 exceeded, found 20.', 'QUERY_TOO_COMPLEX'],
    );
    const syntax = await errorOf(server, '{ headPosition');
    assert.equal(syntax.extensions?.code, 'GRAPHQL_PARSE_FAILED');
  });
});

describe('GraphQL limits', () => {
  it('caps first and top: a larger value is an error, not a truncated page', async () => {
    const samples = await errorOf(server, '{ experiment(id: "g1") { samples(first: 500) { edges { cursor } } } }');
    assert.equal(samples.message, `first must be between 1 and ${DEFAULT_LIMITS.maxPageSize} (got 500)`);
    const events = await errorOf(server, 'query($n: Int) { events(first: $n) { edges { cursor } } }', { n: 101 });
    assert.equal(events.message, 'first must be between 1 and 100 (got 101)');
    assert.match(
      (await errorOf(server, '{ events(first: 0) { edges { cursor } } }')).message,
      /first must be between 1 and 100 \(got 0\)/,
    );
    assert.match(
      (await errorOf(server, '{ experiment(id: "g1") { bestCells(top: -1) { id } } }')).message,
      /top must be between 1 and 100 \(got -1\)/,
    );
  });

  it('rejects operations over the maximum depth, cost, aliases and tokens before running them', async () => {
    let deep = 'name';
    for (let i = 0; i < 12; i++) deep = `ofType { ${deep} }`;
    const depth = await errorOf(server, `{ __type(name: "Experiment") { fields { type { ${deep} } } } }`);
    assert.match(depth.message, /depth limit of 10 exceeded/);

    const costly =
      '{ experiments { samples(first: 100) { edges { node { id normal { text dot blocks { opA opB } } reduction { text dot } trials { id status } } } } } }';
    const cost = await errorOf(server, costly);
    assert.equal(cost.extensions?.code, 'QUERY_TOO_COSTLY');
    // A variable counts as the largest page: no way around the estimate.
    const viaVariable = await errorOf(
      server,
      costly.replace('{ experiments', 'query($n: Int) { experiments').replace('first: 100', 'first: $n'),
      { n: 1 },
    );
    assert.equal(viaVariable.extensions?.code, 'QUERY_TOO_COSTLY');
    // The same page of one experiment is fine.
    await data(server, costly.replace('experiments', 'experiment(id: "g1")'));

    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: headPosition`).join(' ');
    assert.match((await errorOf(server, `{ ${aliases} }`)).message, /aliases limit of 15 exceeded/i);
    const tokens = `{ experiments { ${'id '.repeat(2_100)} } }`;
    assert.match((await errorOf(server, tokens)).message, /token limit of 2000 exceeded/i);
  });

  it('answers 413 to a body over the size limit, with or without Content-Length', async () => {
    const huge = JSON.stringify({ query: `{ experiment(id: "${'x'.repeat(100_000)}") { id } }` });
    const declared = await post(server, huge);
    assert.equal(declared.status, 413);
    assert.match(declared.errors![0]!.message, /request too large/);
    const encoder = new TextEncoder();
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(encoder.encode('x'.repeat(10_000)));
        controller.close();
      },
    });
    const response = await server.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 413);
    const longGet = await server.yoga.fetch(`http://localhost/graphql?query=${'%7B'.repeat(30_000)}`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(longGet.status, 413);
  });

  it('masks unexpected errors: no stack, no SQL, no file paths', async () => {
    const closedDb = await openReadModels(join(dir, 'closed.db'));
    await closedDb.close();
    const broken = createGraphqlServer({ store, readModels: closedDb, logging: false });
    cleanup.push(() => broken.close());
    const error = await errorOf(broken, '{ experiments { id } }');
    assert.equal(error.message, 'Unexpected error.');
    assert.doesNotMatch(error.raw, /SQLITE|SELECT|stack|\.ts|at /);
  });

  it('answers malformed queries and hostile arguments with GraphQL errors, and stays up with the tables intact', async () => {
    const before = (await allEvents(store)).length;
    const hostile = [
      "'; DROP TABLE events; --",
      '" OR 1=1 --',
      '../../../etc/passwd',
      '\u0000\uffff\ud83d\ude00',
      '%s%n%x',
      '<script>alert(1)</script>',
    ];
    for (const value of hostile) {
      const { experiment, sample, transfer } = await data<Record<string, unknown>>(
        server,
        'query($id: ID!) { experiment(id: $id) { id } sample(id: $id) { id } transfer(id: $id) { id } }',
        { id: value },
      );
      assert.deepEqual([experiment, sample, transfer], [null, null, null]);
      const cursor = await errorOf(
        server,
        'query($c: String) { experiment(id: "g1") { samples(after: $c) { edges { cursor } } } }',
        { c: value },
      );
      assert.equal(cursor.extensions?.code, 'INVALID_CURSOR', cursor.raw);
      assert.equal(
        (await errorOf(server, 'query($c: String) { events(after: $c) { edges { cursor } } }', { c: value })).extensions?.code,
        'INVALID_CURSOR',
      );
      assert.equal(
        (await errorOf(server, 'query($id: ID) { events(experimentId: $id) { edges { cursor } } }', { id: value })).extensions
          ?.code,
        'BAD_USER_INPUT',
      );
      assert.equal(
        (await errorOf(server, 'query($t: String!) { events(types: [$t]) { edges { cursor } } }', { t: value })).extensions?.code,
        'BAD_USER_INPUT',
      );
    }
    // A long string under the size limit: answered, and not echoed back whole.
    const long = 'y'.repeat(50_000);
    const { experiment } = await data<{ experiment: unknown }>(server, 'query($id: ID!) { experiment(id: $id) { id } }', {
      id: long,
    });
    assert.equal(experiment, null);
    const longCursor = await errorOf(
      server,
      'query($c: String) { experiment(id: "g1") { samples(after: $c) { edges { cursor } } } }',
      { c: long },
    );
    assert.ok(longCursor.raw.length < 1_000, 'the error does not echo the argument');
    // A cursor of the other order, and base64 of garbage.
    const indexCursor = Buffer.from(JSON.stringify({ o: 'INDEX', i: 3 })).toString('base64url');
    assert.equal(
      (
        await errorOf(
          server,
          `{ experiment(id: "g1") { samples(after: "${indexCursor}", orderBy: REWARD_DESC) { edges { cursor } } } }`,
        )
      ).extensions?.code,
      'INVALID_CURSOR',
    );
    assert.equal(
      (await errorOf(server, `{ events(after: "99999999999999999999999999999999999999999999") { edges { cursor } } }`)).extensions
        ?.code,
      'INVALID_CURSOR',
    );

    for (const body of [
      '{',
      'null',
      '[]',
      '{"query": 5}',
      '{"query": "{ experiments { id "}',
      '{"query": "{ nope }"}',
      '{"query": "{ experiments { id } }", "variables": "x"}',
    ]) {
      const result = await post(server, body);
      assert.ok(result.status >= 200 && result.status < 500, `${body}: ${result.status}`);
      assert.ok(result.errors && result.errors.length > 0, `${body}: ${result.raw}`);
      assert.doesNotMatch(result.raw, /at .*\.(ts|js):\d+/);
    }
    const suggestion = await errorOf(server, '{ experimentz { id } }');
    assert.doesNotMatch(suggestion.message, /Did you mean/);

    const { experiments } = await data<{ experiments: unknown[] }>(server, '{ experiments { id } }');
    assert.ok(experiments.length >= 3, 'still serving');
    assert.equal((await allEvents(store)).length, before, 'the log is intact');
  });
});

describe('cross-site requests and the endpoint path', () => {
  const send = (path: string, init: RequestInit) => server.yoga.fetch(`http://localhost${path}`, init);
  const query = JSON.stringify({ query: '{ headPosition }' });

  it('runs only JSON POSTs, or others that carry x-nasnet-csrf, which no other site can send unasked', async () => {
    for (const [type, body] of [
      ['text/plain', query],
      ['application/x-www-form-urlencoded', 'query=%7B%20headPosition%20%7D'],
      ['application/graphql', '{ headPosition }'],
      ['multipart/form-data; boundary=x', '--x\r\ncontent-disposition: form-data; name="operations"\r\n\r\n{}\r\n--x--'],
      ['', query],
    ]) {
      const response = await send('/graphql', { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
      assert.equal(response.status, 415, type);
      const { errors } = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      assert.equal(errors[0]!.extensions.code, 'CSRF_PREVENTED');
      assert.match(errors[0]!.message, /takes content-type application\/json .*x-nasnet-csrf/);
    }
    const stop = await send('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: 'mutation { stopExperiment(id: "g1") { id } }' }),
    });
    assert.equal(stop.status, 415, 'a mutation from a form is refused before it runs');
    const allowed = await send('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/graphql', 'x-nasnet-csrf': '1' },
      body: '{ headPosition }',
    });
    assert.equal(allowed.status, 200);
    const json = await send('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: query,
    });
    assert.equal(json.status, 200);
    assert.equal((await send('/graphql?query=%7BheadPosition%7D', { method: 'GET' })).status, 200, 'GET runs queries');
  });

  it('serves GraphQL at exactly /graphql', async () => {
    for (const path of ['/x/graphql', '/dashboard/graphql', '//graphql']) {
      const response = await send(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query });
      assert.equal(response.status, 404, path);
      assert.match(await response.text(), /GraphQL is served at \/graphql only/);
    }
  });
});

describe('the dashboard routes', () => {
  it('serves index.html at / and files under /dashboard/ with their content types, and nothing outside', async () => {
    const dashboardDir = join(dir, 'dashboard');
    await mkdir(join(dashboardDir, 'lib'), { recursive: true });
    await writeFile(join(dashboardDir, 'index.html'), '<!doctype html><title>dash</title>');
    await writeFile(join(dashboardDir, 'lib', 'app.js'), 'export {};');
    await writeFile(join(dir, 'secret.txt'), 'secret');
    const withDashboard = createGraphqlServer({ store, readModels: queryDb, dashboardDir, logging: false });
    cleanup.push(() => withDashboard.close());
    const get = (path: string, method = 'GET') => withDashboard.yoga.fetch(`http://localhost${path}`, { method });

    const index = await get('/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /text\/html/);
    assert.equal(await index.text(), '<!doctype html><title>dash</title>');
    const script = await get('/dashboard/lib/app.js');
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type')!, /text\/javascript/);
    for (const path of [
      '/dashboard/..%2fsecret.txt',
      '/dashboard/%2e%2e/secret.txt',
      '/dashboard/lib/..%5c..%5csecret.txt',
      '/dashboard/missing.js',
      '/dashboard/',
      '/dashboard/lib',
      '/dashboard/.hidden',
      '/dashboard/a%00b',
    ]) {
      assert.equal((await get(path)).status, 404, path);
    }
    assert.equal((await get('/dashboard/lib/app.js', 'POST')).status, 405);

    const fallback = await createGraphqlServer({
      store,
      readModels: queryDb,
      dashboardDir: join(dir, 'none'),
      logging: false,
    }).yoga.fetch('http://localhost/');
    assert.equal(fallback.status, 200);
    assert.match(await fallback.text(), /href="\/graphql"/);

    const loopbackOnly = createGraphqlServer({
      store,
      readModels: queryDb,
      dashboardDir,
      allowedHosts: ['localhost', '127.0.0.1'],
      logging: false,
    });
    cleanup.push(() => loopbackOnly.close());
    assert.equal((await loopbackOnly.yoga.fetch('http://rebound.example:4000/')).status, 403, 'DNS rebinding');
    assert.equal((await loopbackOnly.yoga.fetch('http://rebound.example:4000/graphql?query={headPosition}')).status, 403);
    assert.equal((await loopbackOnly.yoga.fetch('http://127.0.0.1:4000/')).status, 200);

    const graphiql = await withDashboard.yoga.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
    assert.equal(graphiql.status, 200);
    assert.match(await graphiql.text(), /graphiql/i);
  });
});

describe('nasnet serve', () => {
  it('serves the store on a port, prints where, and stops on SIGINT', { timeout: 60_000 }, async () => {
    const tokenFile = join(dir, 'serve-token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    const child = spawn(
      process.execPath,
      ['cli/nasnet.js', 'serve', '--store', `sqlite:${storePath}`, '--port', '0', '--json', '--token-file', tokenFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // A failed assertion must not leave the server running (the test process would never end).
    cleanup.push(async () => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const printed = JSON.parse(line) as { graphql: string; dashboard: string; mutations: boolean };
    assert.match(printed.graphql, /^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    assert.equal(printed.mutations, true);
    // What `ps` shows other users: the command line, which must not hold the secret.
    assert.doesNotMatch(await readFile(`/proc/${child.pid}/cmdline`, 'utf8'), new RegExp(TOKEN));
    const stop = await fetch(printed.graphql, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: 'mutation { stopExperiment(id: "g1") { id } }' }),
    });
    assert.match(await stop.text(), /NOT_RUNNING/, 'the token from the file is the one mutations take');
    const response = await fetch(printed.graphql, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ experiment(id: "g1") { sampleCount status } }' }),
    });
    assert.deepEqual(await response.json(), { data: { experiment: { sampleCount: 12, status: 'COMPLETED' } } });
    // Over a socket too, an oversized body gets its 413 rather than a reset connection.
    const oversized = await fetch(printed.graphql, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ experiment(id: "${'z'.repeat(80_000)}") { id } }` }),
    });
    assert.equal(oversized.status, 413);
    // A GET's query travels in the request head, which Node caps at 16 KiB unless told otherwise.
    const longGet = await fetch(`${printed.graphql}?query=${encodeURIComponent(`{ headPosition }\n#${'z'.repeat(30_000)}`)}`);
    assert.equal(longGet.status, 200, 'a 30 KB GET reaches GraphQL');
    const tooLongGet = await fetch(`${printed.graphql}?query=${encodeURIComponent(`{ headPosition }\n#${'z'.repeat(70_000)}`)}`);
    assert.equal(tooLongGet.status, 413, 'past the request limit, the documented 413');
    assert.equal((await fetch(printed.dashboard)).status, 200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  });
});

describe('the response fast path (stored bytes answered before yoga)', () => {
  interface Raw {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }
  const listen = async (served: GraphqlServer): Promise<number> => {
    const http = createServer((req, res) => served.handle(req, res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => resolve());
        }),
    );
    return (http.address() as AddressInfo).port;
  };
  const send = (port: number, body: string, headers: Record<string, string> = {}): Promise<Raw> =>
    new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            'content-length': Buffer.byteLength(body),
            ...headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  const query = (text: string, variables?: Record<string, unknown>) => JSON.stringify({ query: text, variables });
  const comparable = (headers: Raw['headers']) => {
    const { date: _date, connection: _connection, 'keep-alive': _keepAlive, 'x-nasnet-cache': _cache, ...rest } = headers;
    return rest;
  };

  it('takes an absolute-form request target as its path, and answers a target that is no path with a plain 400', async () => {
    const served = createGraphqlServer({ store, readModels: queryDb, allowedHosts: ['127.0.0.1'], logging: false });
    cleanup.push(() => served.close());
    const port = await listen(served);
    const at = (path: string, method = 'POST') =>
      new Promise<Raw>((resolve, reject) => {
        const body = query('{ headPosition }');
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path,
            method,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() }),
            );
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const absolute = await at(`http://127.0.0.1:${port}/graphql`);
    assert.equal(absolute.status, 200, absolute.body);
    assert.match(absolute.body, /"headPosition"/);
    const elsewhere = await at(`http://evil.example:${port}/graphql`);
    assert.equal(elsewhere.status, 403, "the absolute form's authority is the Host the Host check judges");
    for (const [path, method] of [
      ['*', 'OPTIONS'],
      ['graphql', 'POST'],
    ] as const) {
      const bad = await at(path, method);
      assert.equal(bad.status, 400, path);
      assert.doesNotMatch(bad.body, /\bat \/|node_modules|TypeError/, 'no stack trace, no paths');
    }
  });

  it('answers a repeated query from stored bytes with the same bytes and headers, until the read models move', async () => {
    const served = createGraphqlServer({ store, readModels: queryDb, token: TOKEN, projector, logging: false });
    cleanup.push(() => served.close());
    const port = await listen(served);
    const body = query('query($id: ID!) { experiment(id: $id) { id status sampleCount } }', { id: 'cached-1' });
    const first = await send(port, body);
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['x-nasnet-cache'], 'miss');
    assert.deepEqual(JSON.parse(first.body), { data: { experiment: null } });
    const second = await send(port, body);
    assert.equal(second.headers['x-nasnet-cache'], 'hit');
    assert.equal(second.body, first.body);
    assert.deepEqual(comparable(second.headers), comparable(first.headers));
    assert.match(String(second.headers['content-type']), /^application\/graphql-response\+json/);
    assert.equal(served.cacheStats!.hits, 1);
    // The Accept header is part of the key: another one gets its own (differently typed) response.
    const plain = await send(port, body, { accept: 'application/json' });
    assert.equal(plain.headers['x-nasnet-cache'], 'miss');
    assert.match(String(plain.headers['content-type']), /^application\/json/);
    assert.equal((await send(port, body, { accept: 'application/json' })).headers['x-nasnet-cache'], 'hit');

    // A new event, projected: the checkpoint moves, and the next answer shows it.
    await createExperiment(store, { experimentId: 'cached-1', config: config(), seed: 6, codeVersion: 'test', writerId: 'test' });
    await projector.caughtUp();
    const after = await send(port, body);
    assert.equal(after.headers['x-nasnet-cache'], 'miss');
    assert.deepEqual(JSON.parse(after.body), { data: { experiment: { id: 'cached-1', status: 'RUNNING', sampleCount: 0 } } });
    assert.equal((await send(port, body)).headers['x-nasnet-cache'], 'hit');

    // Mutations are never stored: the second stop is refused, not replayed.
    const stop = query('mutation($id: ID!) { stopExperiment(id: $id) { id status } }', { id: 'cached-1' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const stopped = await send(port, stop, auth);
    assert.deepEqual(JSON.parse(stopped.body), { data: { stopExperiment: { id: 'cached-1', status: 'STOPPED' } } });
    const again = await send(port, stop, auth);
    assert.notEqual(again.headers['x-nasnet-cache'], 'hit');
    assert.equal((JSON.parse(again.body) as GqlResult).errors?.[0]?.extensions?.code, 'NOT_RUNNING');
    const status = await send(port, body);
    assert.equal(status.headers['x-nasnet-cache'], 'miss');
    assert.equal((JSON.parse(status.body) as { data: { experiment: { status: string } } }).data.experiment.status, 'STOPPED');

    // Errors, and fields not from the read models, are never stored.
    for (const text of [
      '{ experiment(id: "g1") { samples(first: 1000) { edges { cursor } } } }',
      '{ headPosition }',
      '{ experiments { id } headPosition }',
    ]) {
      for (let i = 0; i < 2; i++) assert.equal((await send(port, query(text))).headers['x-nasnet-cache'], 'miss', text);
    }
  });

  it('still refuses oversized bodies (413) and other hosts (403), and is off with responseCache: false', async () => {
    const served = createGraphqlServer({ store, readModels: queryDb, allowedHosts: ['127.0.0.1'], logging: false });
    cleanup.push(() => served.close());
    const port = await listen(served);
    const body = query('{ experiments { id } }');
    assert.equal((await send(port, body)).headers['x-nasnet-cache'], 'miss');
    assert.equal((await send(port, body)).headers['x-nasnet-cache'], 'hit');
    const rebound = await send(port, body, { host: 'rebound.example' });
    assert.equal(rebound.status, 403);
    const huge = query(`{ experiment(id: "${'x'.repeat(DEFAULT_LIMITS.maxRequestBytes)}") { id } }`);
    for (let i = 0; i < 2; i++) {
      const refused = await send(port, huge);
      assert.equal(refused.status, 413);
      assert.equal(refused.headers['x-nasnet-cache'], undefined);
    }

    const uncached = createGraphqlServer({ store, readModels: queryDb, responseCache: false, logging: false });
    cleanup.push(() => uncached.close());
    const uncachedPort = await listen(uncached);
    for (let i = 0; i < 2; i++) {
      const answer = await send(uncachedPort, body);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-nasnet-cache'], undefined);
    }
    assert.equal(uncached.cacheStats, undefined);
  });
});
