import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import {
  AccessDeniedError,
  DeadlineExceededError,
  EVENT_TYPE,
  type EventStoreDBClient,
  type Filter,
  NotLeaderError,
  STREAM_NAME,
  TimeoutError,
  UnavailableError,
} from '@eventstore/db-client';
import fc from 'fast-check';
import { firstValueFrom, take, toArray } from 'rxjs';
import { NASNET_CATALOGUE } from '../../core/events/catalogue-registry.ts';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { createEventValidator } from '../../core/events/validate.ts';
import { StoreArgumentError } from '../../core/store/errors.ts';
import { appendSize, isNasnetRecord, isOwnRecord, toEsdbEvent } from '../../core/store/esdb/convert.ts';
import { EsdbEventStore, type EsdbStoreOptions } from '../../core/store/esdb/esdb-store.ts';
import { decodePosition, encodePosition } from '../../core/store/esdb/position.ts';
import { START, matchesFilter, type EventFilter } from '../../core/store/port.ts';
import { prepareAppend } from '../../core/store/prepare-append.ts';
import { architectureSampled, experimentCreated, trainingProgressed } from '../support/events.ts';
import { FakeEventStoreDB, type FakeSettings } from '../support/fake-esdb-client.ts';
import { storeConformance } from '../support/store-conformance.ts';

/** A store over a fake server; warnings are collected, retries wait 1, 2, 4, 8, 8... ms, reads 20 ms for a quiet server. */
function open(server = new FakeEventStoreDB(), options: Omit<EsdbStoreOptions, 'catalogue'> = {}) {
  const warnings: string[] = [];
  const store = new EsdbEventStore(server.client() as unknown as EventStoreDBClient, NASNET_CATALOGUE, {
    onWarning: (message) => warnings.push(message),
    retryBackoff: { initialMs: 1, maxMs: 8 },
    readIdleMs: 20,
    ...options,
  });
  return { server, store, warnings };
}

const samples = (experimentId: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => architectureSampled(experimentId, from + i));

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

const positions = (events: RecordedEvent[]) => events.map((event) => event.position);

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The client's error for a node that is no longer leader (it reads the leader from the gRPC metadata). */
function notLeader(): NotLeaderError {
  const metadata = { getMap: () => ({ 'leader-endpoint-host': 'node2', 'leader-endpoint-port': '2113' }) };
  return new NotLeaderError({ code: 5, details: 'not leader', metadata } as unknown as ConstructorParameters<
    typeof NotLeaderError
  >[0]);
}

/** A gRPC status 14 the client passed on without converting it. */
function rawUnavailable(): Error {
  return Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
}

const delaysOf = (warnings: string[]) => warnings.map((warning) => Number(/in (\d+) ms/.exec(warning)?.[1]));

describe('the adapter over a fake client passes the store conformance suite', () => {
  const shared = new FakeEventStoreDB();
  storeConformance('EventStoreDB adapter over a fake client', {
    open: async () => open(shared).store,
    openSecond: async () => open(shared).store,
  });
});

describe('subscribe: resubscribes after transient errors', () => {
  for (const inclusiveSubscribe of [false, true]) {
    test(`from the last position delivered, without gap, duplicate or error (server start ${inclusiveSubscribe ? 'inclusive' : 'exclusive'})`, async () => {
      const { server, store, warnings } = open(new FakeEventStoreDB({ inclusiveSubscribe }));
      const backlog = await store.append('experiment-r1', samples('r1', 0, 6), 'no_stream');
      server.faults.subscribe.push(
        { after: 2, error: new UnavailableError(undefined, 'connection refused') },
        { after: 0, error: notLeader() },
        { after: 3, error: new DeadlineExceededError() },
        { after: 1, error: rawUnavailable() },
        { after: 1, error: new TimeoutError(undefined, 'Consumer too slow to handle event while live') },
      );
      const received = firstValueFrom(store.subscribe().pipe(take(10), toArray()));
      const live = await store.append('experiment-r1', samples('r1', 6, 4), 5n);
      assert.deepEqual(positions(await received), [...backlog.positions, ...live.positions]);
      assert.equal(warnings.length, 5);
      assert.match(warnings[0]!, /UnavailableError: connection refused.*subscribing again after position \d+ in 1 ms/);
      assert.match(warnings[1]!, /NotLeaderError/);
      // The second subscription starts after the two events the first one delivered.
      assert.deepEqual(server.calls.subscribe[1]!.fromPosition, decodePosition(backlog.positions[1]!));
      await store.close();
      assert.equal(server.subscriptions.size, 0);
    });
  }

  test('counts events the filter skipped as passed: the next subscription starts after them', async () => {
    const { server, store } = open();
    const created = await store.append('experiment-s1', [experimentCreated('s1')], 'no_stream');
    const skipped = await store.append('experiment-s1', samples('s1', 0, 5), 0n);
    server.faults.subscribe.push({ after: 6, error: new UnavailableError() });
    const filter = { streamPrefixes: ['experiment-s'], types: ['ExperimentCreated'] };
    const received = firstValueFrom(store.subscribe({ filter }).pipe(take(2), toArray()));
    const later = await store.append('experiment-s2', [experimentCreated('s2')], 'no_stream');
    assert.deepEqual(positions(await received), [...created.positions, ...later.positions]);
    assert.deepEqual(server.calls.subscribe[1]!.fromPosition, decodePosition(skipped.positions.at(-1)!));
  });

  test('backs off from the first delay, doubling to the cap, and starts over once events arrive', async () => {
    const { server, store, warnings } = open();
    await store.append('experiment-b1', samples('b1', 0, 1), 'no_stream');
    for (let i = 0; i < 5; i++) server.faults.subscribe.push({ after: 0, error: new UnavailableError() });
    const events: RecordedEvent[] = [];
    const errors: unknown[] = [];
    const subscription = store.subscribe().subscribe({ next: (e) => events.push(e), error: (e) => errors.push(e) });
    await until(() => events.length === 1, 'the backlog');
    assert.deepEqual(delaysOf(warnings), [1, 2, 4, 8, 8]);
    server.breakSubscriptions(new UnavailableError());
    await until(() => server.subscriptions.size === 1 && server.calls.subscribe.length === 7, 'the resubscription');
    assert.deepEqual(delaysOf(warnings), [1, 2, 4, 8, 8, 1]);
    const live = await store.append('experiment-b1', samples('b1', 1, 1), 0n);
    await until(() => events.length === 2, 'a live event');
    assert.equal(events[1]!.position, live.positions[0]);
    assert.deepEqual(errors, []);
    subscription.unsubscribe();
    assert.equal(server.subscriptions.size, 0);
  });

  test('errors the subscriber on other errors, without subscribing again', async () => {
    const { server, store, warnings } = open();
    await store.append('experiment-x1', samples('x1', 0, 3), 'no_stream');
    const denied = new AccessDeniedError();
    server.faults.subscribe.push({ after: 1, error: denied });
    await assert.rejects(firstValueFrom(store.subscribe().pipe(toArray())), (error) => error === denied);
    assert.equal(server.calls.subscribe.length, 1);
    assert.deepEqual(warnings, []);
  });

  test('stops a pending resubscription when the subscriber unsubscribes', async () => {
    const { server, store, warnings } = open(undefined, { retryBackoff: { initialMs: 30, maxMs: 30 } });
    server.faults.subscribe.push({ after: 0, error: new UnavailableError() });
    const subscription = store.subscribe().subscribe();
    await until(() => warnings.length === 1, 'the failure');
    subscription.unsubscribe();
    await pause(60);
    assert.equal(server.calls.subscribe.length, 1);
  });

  test('stops a pending resubscription when the store closes, and completes', async () => {
    const { server, store, warnings } = open(undefined, { retryBackoff: { initialMs: 30, maxMs: 30 } });
    server.faults.subscribe.push({ after: 0, error: new UnavailableError() });
    let completed = false;
    store.subscribe().subscribe({ complete: () => (completed = true) });
    await until(() => warnings.length === 1, 'the failure');
    await store.close();
    assert.equal(completed, true);
    await pause(60);
    assert.equal(server.calls.subscribe.length, 1);
  });

  test('sends a types-only filter to the server as an event-type filter, any other as stream prefixes', async () => {
    const { server, store } = open();
    store
      .subscribe({ filter: { types: ['ExperimentCreated'] } })
      .subscribe()
      .unsubscribe();
    store
      .subscribe({ filter: { streamPrefixes: ['trial-a-'], types: ['ExperimentCreated'] } })
      .subscribe()
      .unsubscribe();
    store.subscribe().subscribe().unsubscribe();
    assert.deepEqual(
      server.calls.subscribe.map((call) => describeFilter(call.filter)),
      [
        [EVENT_TYPE, ['ExperimentCreated']],
        [STREAM_NAME, ['trial-a-']],
        [STREAM_NAME, ['experiment-', 'trial-', 'transfer-', 'snapshot-']],
      ],
    );
  });

  test('reports through a process warning named NasnetWarning by default', async () => {
    const server = new FakeEventStoreDB();
    const store = new EsdbEventStore(server.client() as unknown as EventStoreDBClient);
    server.record('experiment-w1', { type: 'OrderPlaced', data: { order: 1 } });
    const warned = once(process, 'warning');
    assert.equal(await store.headPosition(), START);
    const [warning] = (await warned) as [Error];
    assert.equal(warning.name, 'NasnetWarning');
    assert.match(warning.message, /experiment-w1 holds events nasnet did not write/);
  });
});

describe('readAll: resumes after transient errors', () => {
  test('from the last position read, without gap or duplicate', async () => {
    const { server, store, warnings } = open();
    const written = await store.append('experiment-ra', samples('ra', 0, 8), 'no_stream');
    server.faults.subscribe.push({ after: 3, error: new UnavailableError() }, { after: 2, error: notLeader() });
    assert.deepEqual(positions(await collect(store.readAll())), written.positions);
    assert.deepEqual(server.calls.subscribe[1]!.fromPosition, decodePosition(written.positions[2]!));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /read of \$all after position \d+ failed \(UnavailableError\); retrying in 1 ms \(1 of 3\)/);
  });

  test('counts only failures in a row: progress between them starts the count again', async () => {
    const { server, store } = open();
    const written = await store.append('experiment-rb', samples('rb', 0, 8), 'no_stream');
    for (let i = 0; i < 6; i++) server.faults.subscribe.push({ after: 1, error: new UnavailableError() });
    assert.deepEqual(positions(await collect(store.readAll())), written.positions);
  });

  test('gives up after three transient failures in a row, and at once on other errors', async () => {
    const { server, store, warnings } = open();
    await store.append('experiment-rc', samples('rc', 0, 3), 'no_stream');
    const last = new UnavailableError(undefined, 'still down');
    server.faults.subscribe.push(...[1, 2, 3].map(() => ({ after: 0, error: new UnavailableError() })), {
      after: 0,
      error: last,
    });
    await assert.rejects(collect(store.readAll()), (error) => error === last);
    assert.equal(warnings.length, 3);
    const denied = new AccessDeniedError();
    server.faults.subscribe.push({ after: 1, error: denied });
    await assert.rejects(collect(store.readAll()), (error) => error === denied);
  });

  test('retries the backward read that finds where the read ends, and headPosition', async () => {
    const { server, store, warnings } = open();
    const written = await store.append('experiment-rd', samples('rd', 0, 2), 'no_stream');
    server.faults.readAll.push({ after: 0, error: new UnavailableError() });
    assert.deepEqual(positions(await collect(store.readAll())), written.positions);
    server.faults.readAll.push({ after: 0, error: new DeadlineExceededError() });
    assert.equal(await store.headPosition(), written.positions[1]);
    assert.equal(warnings.length, 2);
  });
});

describe('foreign events in streams named like ours', () => {
  test('are skipped by every read, with one warning per stream', async () => {
    const { server, store, warnings } = open();
    const first = await store.append('experiment-f1', samples('f1', 0, 2), 'no_stream');
    server.record('experiment-f1', { type: 'OrderPlaced', data: { order: 1 } });
    server.record('trial-shop-1', { type: 'Blob', data: new Uint8Array([1, 2]) });
    server.record('transfer-shop', { type: 'Text', data: 'not json {', isJson: true, metadata: { schemaVersion: 1 } });
    server.record('trial-shop-1', { type: 'List', data: [1], metadata: { schemaVersion: 1 } });
    const second = await store.append('experiment-f1', samples('f1', 2, 1), 'any');
    server.record('experiment-f2', { type: 'Versioned', data: { a: 1 }, metadata: { schemaVersion: '1' } });
    const ours = [...first.positions, ...second.positions];
    assert.deepEqual(positions(await collect(store.readAll())), ours);
    assert.equal(await store.headPosition(), second.positions[0]);
    const stream = await store.readStream('experiment-f1');
    assert.deepEqual(
      stream.events.map((event) => event.revision),
      [0n, 1n, 3n],
    );
    assert.equal(stream.revision, 3n);
    assert.deepEqual(positions(await firstValueFrom(store.subscribe().pipe(take(3), toArray()))), ours);
    assert.deepEqual(warnings.map((warning) => /stream (\S+) holds/.exec(warning)?.[1]).sort(), [
      'experiment-f1',
      'experiment-f2',
      'transfer-shop',
      'trial-shop-1',
    ]);
  });

  test('do not hide an event of ours that cannot be read: that still fails', async () => {
    const { server, store } = open();
    await store.append('experiment-u1', samples('u1', 0, 1), 'no_stream');
    server.record('experiment-u1', { type: 'NoSuchType', data: {}, metadata: { schemaVersion: 1 } });
    await assert.rejects(collect(store.readAll()), /NoSuchType" is unknown/);
    await assert.rejects(store.readStream('experiment-u1'), /NoSuchType" is unknown/);
    await assert.rejects(firstValueFrom(store.subscribe().pipe(take(2), toArray())), /NoSuchType" is unknown/);
  });
});

describe('append size', () => {
  const validate = createEventValidator(NASNET_CATALOGUE);
  const sizeOf = (stream: string, events: NasnetEvent[]) =>
    appendSize(prepareAppend(stream, events, 'any', validate).map(toEsdbEvent));

  test('refuses a batch over maxAppendBytes (default 1 MiB) without sending it, saying what to do', async () => {
    const { server, store } = open();
    const events = samples('big', 0, 1200);
    const size = sizeOf('experiment-big', events);
    assert.ok(size > 1_048_576, `${size} bytes`);
    await assert.rejects(store.append('experiment-big', events, 'no_stream'), (error) => {
      assert.ok(error instanceof StoreArgumentError);
      assert.equal(error.field, 'events');
      assert.match(
        error.message,
        new RegExp(`at most 1048576 bytes \\(maxAppendBytes\\), but these 1200 events take ${size} bytes`),
      );
      assert.match(error.message, /append fewer events at a time/);
      return true;
    });
    assert.equal(server.calls.append, 0);
    assert.equal((await store.readStream('experiment-big')).exists, false);
  });

  test('sends a batch of exactly maxAppendBytes, and refuses one byte less of room', async () => {
    const events = samples('edge', 0, 3);
    const size = sizeOf('experiment-edge', events);
    const fits = open(undefined, { maxAppendBytes: size });
    assert.equal((await fits.store.append('experiment-edge', events, 'no_stream')).nextRevision, 2n);
    const over = open(undefined, { maxAppendBytes: size - 1 });
    await assert.rejects(over.store.append('experiment-edge', events, 'no_stream'), StoreArgumentError);
    assert.equal(over.server.calls.append, 0);
  });

  test("maps the server's own refusal (a MaxAppendSize below ours) to the same error", async () => {
    const { server, store } = open(new FakeEventStoreDB({ maxAppendSize: 2_000 }));
    await assert.rejects(store.append('experiment-srv', samples('srv', 0, 3), 'no_stream'), (error) => {
      assert.ok(error instanceof StoreArgumentError);
      assert.equal(error.field, 'events');
      assert.match(error.message, /at most 2000 bytes \(the server's MaxAppendSize; set maxAppendBytes to it\)/);
      assert.match(error.message, /append fewer events at a time/);
      return true;
    });
    assert.equal(server.calls.append, 1);
  });

  test('refuses a maxAppendBytes that is not a positive whole number', () => {
    for (const maxAppendBytes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => open(undefined, { maxAppendBytes }), StoreArgumentError);
    }
  });
});

describe('readAll: filtered on the server', () => {
  test('sends stream prefixes, else event types, else nasnet prefixes to the server', async () => {
    const { server, store } = open();
    await store.append('experiment-sf', samples('sf', 0, 2), 'no_stream');
    await collect(store.readAll({ filter: { streamPrefixes: ['experiment-sf'] } }));
    await collect(store.readAll({ filter: { types: ['ArchitectureSampled'] } }));
    await collect(store.readAll());
    assert.deepEqual(
      server.calls.subscribe.map((call) => describeFilter(call.filter)),
      [
        [STREAM_NAME, ['experiment-sf']],
        [EVENT_TYPE, ['ArchitectureSampled']],
        [STREAM_NAME, ['experiment-', 'trial-', 'transfer-', 'snapshot-']],
      ],
    );
  });

  test('falls back to an unfiltered read of the rest when an older server goes quiet at the end', async () => {
    const { server, store } = open(new FakeEventStoreDB({ checkpointEvery: 10_000 }), { readIdleMs: 200 });
    const own = await store.append('experiment-t1', samples('t1', 0, 3), 'no_stream');
    await store.append('trial-t2-0', [trainingProgressed('t2', 0, 0)], 'no_stream');
    for (let i = 0; i < 50; i++) server.record(`orders-${i}`, { type: 'OrderPlaced', data: { i } });
    const events = await collect(store.readAll({ filter: { streamPrefixes: ['experiment-t1'] } }));
    assert.deepEqual(positions(events), own.positions);
    // The newest position, then the rest after the last event the subscription sent.
    assert.deepEqual(
      server.calls.readAll.map((call) => call.fromPosition),
      ['end', decodePosition(own.positions[2]!)],
    );
    assert.equal(server.subscriptions.size, 0);
  });

  test("ends on 'caughtUp' (EventStoreDB 23.10 and later) without waiting or falling back", async () => {
    const { server, store } = open(new FakeEventStoreDB({ caughtUp: true }), { readIdleMs: 5_000 });
    const own = await store.append('experiment-c1', samples('c1', 0, 3), 'no_stream');
    for (let i = 0; i < 5; i++) server.record(`orders-${i}`, { type: 'OrderPlaced', data: { i } });
    const started = Date.now();
    assert.deepEqual(positions(await collect(store.readAll())), own.positions);
    assert.ok(Date.now() - started < 2_000, 'waited for the idle time');
    assert.equal(server.calls.readAll.length, 1);
  });

  test('ends on a checkpoint at or past the head without waiting or falling back', async () => {
    const { server, store } = open(new FakeEventStoreDB({ checkpointEvery: 1 }), { readIdleMs: 5_000 });
    const own = await store.append('experiment-k1', samples('k1', 0, 3), 'no_stream');
    for (let i = 0; i < 5; i++) server.record(`orders-${i}`, { type: 'OrderPlaced', data: { i } });
    // A later record: the head is no longer on the last page, so a checkpoint covers it.
    server.beforeSubscribe = () => void server.record('orders-late', { type: 'OrderPlaced', data: {} });
    const started = Date.now();
    assert.deepEqual(positions(await collect(store.readAll())), own.positions);
    assert.ok(Date.now() - started < 2_000, 'waited for the idle time');
    assert.equal(server.calls.readAll.length, 1);
  });

  test('does not subscribe when fromPosition is already the newest position', async () => {
    const { server, store } = open();
    await store.append('experiment-n1', samples('n1', 0, 2), 'no_stream');
    const last = server.record('orders-1', { type: 'OrderPlaced', data: {} });
    assert.deepEqual(await collect(store.readAll({ fromPosition: encodePosition(last.position) })), []);
    assert.equal(server.calls.subscribe.length, 0);
    assert.deepEqual(await collect(store.readAll({ filter: { types: ['ExperimentCreated'] } })), []);
  });

  test('is not stalled by the newest record vanishing before it is reached (a scavenge)', async () => {
    const { server, store } = open();
    const own = await store.append('experiment-v1', samples('v1', 0, 3), 'no_stream');
    server.beforeSubscribe = () => server.remove(own.positions[2]!);
    assert.deepEqual(positions(await collect(store.readAll())), own.positions.slice(0, 2));
  });

  test('leaves events appended during the read to the next read', async () => {
    const { store } = open();
    const own = await store.append('experiment-g1', samples('g1', 0, 3), 'no_stream');
    const read: RecordedEvent[] = [];
    for await (const event of store.readAll()) {
      read.push(event);
      if (read.length === 1) await store.append('experiment-g1', samples('g1', 3, 1), 2n);
    }
    assert.deepEqual(positions(read), own.positions);
    assert.equal((await collect(store.readAll({ fromPosition: own.positions[2]! }))).length, 1);
  });

  // The adapter pauses the subscription at 256 queued events; the client then buffers what
  // is in flight (here the last 10 events) and may report 'caughtUp' or a checkpoint past
  // the head meanwhile. Such a signal must not overtake the buffered events.
  for (const settings of [{ caughtUp: true }, { checkpointEvery: 1 }] satisfies FakeSettings[]) {
    test(`pauses the subscription while the reader lags, and loses nothing (${JSON.stringify(settings)})`, async () => {
      const { server, store } = open(new FakeEventStoreDB(settings));
      const own = await store.append('experiment-slow', samples('slow', 0, 266), 'no_stream');
      for (let i = 0; i < 5; i++) server.record(`orders-${i}`, { type: 'OrderPlaced', data: { i } });
      const read: RecordedEvent[] = [];
      for await (const event of store.readAll()) {
        read.push(event);
        if (read.length === 1) await pause(300);
      }
      assert.deepEqual(positions(read), own.positions);
      assert.ok(server.opened[0]!.pauses > 0);
    });
  }

  test('returns what a full scan of $all would, whatever the log, filter, start, count and faults', async () => {
    const streams = ['experiment-p1', 'experiment-p2', 'trial-p1-0', 'transfer-p', 'orders-1', '$stats-1'];
    const entry = fc.record({ stream: fc.constantFrom(...streams), kind: fc.constantFrom('own', 'own', 'foreign', 'system') });
    const filter: fc.Arbitrary<EventFilter | undefined> = fc.option(
      fc.record(
        {
          streamPrefixes: fc.subarray(['experiment-', 'experiment-p2', 'trial-p1-', 'orders-']),
          types: fc.subarray(['ArchitectureSampled', 'TrainingProgressed', 'ExperimentCreated']),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    );
    const settings = fc.record({
      caughtUp: fc.boolean(),
      checkpointEvery: fc.integer({ min: 1, max: 40 }),
      inclusiveSubscribe: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 40 }),
        filter,
        fc.nat(),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        fc.array(fc.record({ on: fc.constantFrom('subscribe', 'readAll'), after: fc.nat(6) }), { maxLength: 3 }),
        settings,
        fc.integer({ min: 1, max: 15 }),
        async (entries, filter, start, maxCount, faults, settings, readIdleMs) => {
          const { server, store } = open(new FakeEventStoreDB(settings), { readIdleMs });
          await write(store, server, entries);
          const at = start % (server.log.length + 1);
          const fromPosition = at === 0 ? START : encodePosition(server.log[at - 1]!.position);
          const expected = server.log
            .filter((record) => encodePosition(record.position) > fromPosition)
            .filter((record) => isNasnetRecord(record) && isOwnRecord(record))
            .filter((record) => matchesFilter(filter, record.streamId, record.type))
            .slice(0, maxCount)
            .map((record) => encodePosition(record.position));
          // At most three, so never more in a row than a read retries.
          for (const { on, after } of faults) server.faults[on].push({ after, error: new UnavailableError() });
          assert.deepEqual(positions(await collect(store.readAll({ fromPosition, filter, maxCount }))), expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Writes a random log: our events through the store, other applications' and the server's records directly. */
async function write(store: EsdbEventStore, server: FakeEventStoreDB, entries: { stream: string; kind: string }[]) {
  for (const [i, { stream, kind }] of entries.entries()) {
    if (kind === 'system' || stream.startsWith('$')) {
      server.record(stream, { type: '$statsCollected', data: {} });
    } else if (kind === 'foreign') {
      server.record(stream, { type: 'OrderPlaced', data: { i } });
    } else {
      const event = i % 2 ? architectureSampled('p', i) : trainingProgressed('p', i, 0);
      await store.append(stream, [event], 'any');
    }
  }
}

function describeFilter(filter: Filter | undefined): [string | undefined, string[] | string | undefined] {
  if (!filter) return [undefined, undefined];
  return [filter.filterOn, 'prefixes' in filter ? filter.prefixes : filter.regex];
}
