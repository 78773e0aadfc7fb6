import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { deterministicEventId } from '../../core/events/ids.ts';
import { InvalidEventError } from '../../core/events/validate.ts';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../../core/store/errors.ts';
import type { EventFilter, EventStore } from '../../core/store/port.ts';
import { architectureSampled, asWritten, trainingProgressed } from './events.ts';

export interface StoreHarness {
  /** The store under test. */
  open(): Promise<EventStore>;
  /** A second, independent handle on the same store (another connection), as another process would have. */
  openSecond(): Promise<EventStore>;
}

/**
 * The behaviour every event store adapter must have (README, "The event store"). Each test
 * works in streams of its own, named from a fresh id, so the suite can also run against
 * a shared EventStoreDB server that already holds other data.
 */
export function storeConformance(adapter: string, harness: StoreHarness): void {
  describe(`event store conformance: ${adapter}`, () => {
    let store: EventStore;
    let second: EventStore;
    before(async () => {
      store = await harness.open();
      second = await harness.openSecond();
    });
    after(async () => {
      await second.close();
      await store.close();
    });

    const freshId = () => `c${randomBytes(5).toString('hex')}`;
    const ownStreams = (experimentId: string): EventFilter => ({
      streamPrefixes: [`experiment-${experimentId}`, `trial-${experimentId}-`],
    });
    const samples = (experimentId: string, from: number, count: number) =>
      Array.from({ length: count }, (_, i) => architectureSampled(experimentId, from + i));
    const collect = async (iterable: AsyncIterable<RecordedEvent>) => {
      const out: RecordedEvent[] = [];
      for await (const event of iterable) out.push(event);
      return out;
    };

    it('appends a batch and reads it back in order, with revisions and increasing positions', async () => {
      const id = freshId();
      const events = samples(id, 0, 5);
      const result = await store.append(`experiment-${id}`, events, 'no_stream');
      assert.equal(result.positions.length, 5);
      assert.equal(result.nextRevision, 4n);
      for (let i = 1; i < 5; i++) assert.ok(result.positions[i]! > result.positions[i - 1]!);
      const read = await store.readStream(`experiment-${id}`);
      assert.equal(read.exists, true);
      assert.equal(read.revision, 4n);
      assert.deepEqual(read.events.map(asWritten), events);
      assert.deepEqual(
        read.events.map((e) => e.revision),
        [0n, 1n, 2n, 3n, 4n],
      );
      assert.deepEqual(
        read.events.map((e) => e.position),
        result.positions,
      );
      assert.ok(read.events.every((e) => e.stream === `experiment-${id}`));
    });

    it('checks expected revisions: no_stream, stream_exists, a revision, any', async () => {
      const id = freshId();
      const stream = `experiment-${id}`;
      await assert.rejects(store.append(stream, samples(id, 0, 1), 'stream_exists'), (error: unknown) => {
        assert.ok(error instanceof WrongExpectedVersionError);
        assert.equal(error.stream, stream);
        assert.equal(error.expected, 'stream_exists');
        assert.equal(error.actual, 'no_stream');
        return true;
      });
      await assert.rejects(store.append(stream, samples(id, 0, 1), 3n), WrongExpectedVersionError);
      await store.append(stream, samples(id, 0, 2), 'no_stream');
      await assert.rejects(store.append(stream, samples(id, 2, 1), 'no_stream'), (error: unknown) => {
        assert.ok(error instanceof WrongExpectedVersionError);
        assert.equal(error.actual, 1n);
        return true;
      });
      await assert.rejects(store.append(stream, samples(id, 2, 1), 0n), (error: unknown) => {
        assert.ok(error instanceof WrongExpectedVersionError);
        assert.equal(error.expected, 0n);
        assert.equal(error.actual, 1n);
        return true;
      });
      assert.equal((await store.append(stream, samples(id, 2, 1), 1n)).nextRevision, 2n);
      assert.equal((await store.append(stream, samples(id, 3, 1), 'stream_exists')).nextRevision, 3n);
      assert.equal((await store.append(stream, samples(id, 4, 1), 'any')).nextRevision, 4n);
      assert.equal((await store.readStream(stream)).events.length, 5);
    });

    it('lets exactly one of many concurrent appends with the same expected revision win', async () => {
      const id = freshId();
      const stream = `experiment-${id}`;
      await store.append(stream, samples(id, 0, 1), 'no_stream');
      const attempts = Array.from({ length: 8 }, (_, w) =>
        (w % 2 ? second : store).append(stream, [trainingProgressed(id, w, 0, `w${w}`)], 0n),
      );
      const outcomes = await Promise.allSettled(attempts);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
        assert.ok((lost as PromiseRejectedResult).reason instanceof WrongExpectedVersionError);
      }
      assert.equal((await store.readStream(stream)).events.length, 2);
    });

    it('returns the original positions when the same append is retried, and stores nothing twice', async () => {
      const id = freshId();
      const stream = `experiment-${id}`;
      const first = await store.append(stream, samples(id, 0, 3), 'no_stream');
      assert.deepEqual(await store.append(stream, samples(id, 0, 3), 'no_stream'), first);
      assert.deepEqual(await second.append(stream, samples(id, 0, 3), 'no_stream'), first);
      const next = await store.append(stream, samples(id, 3, 2), 2n);
      assert.deepEqual(await store.append(stream, samples(id, 3, 2), 2n), next);
      assert.equal((await store.readStream(stream)).events.length, 5);
      // a batch that starts like the stored one but goes on differently is not a retry
      await assert.rejects(store.append(stream, samples(id, 3, 3), 2n), DuplicateEventIdError);
      // and other events at a taken revision are a plain conflict
      await assert.rejects(store.append(stream, samples(id, 7, 1), 2n), WrongExpectedVersionError);
      assert.equal((await store.readStream(stream)).events.length, 5);
    });

    it('treats an `any` append retried after it landed as the same append', async () => {
      const id = freshId();
      const stream = `trial-${id}-0`;
      const events = [trainingProgressed(id, 0, 0), trainingProgressed(id, 0, 1)];
      const first = await store.append(stream, events, 'any');
      assert.deepEqual(await store.append(stream, events, 'any'), first);
      assert.equal((await store.readStream(stream)).events.length, 2);
    });

    it('writes all of a batch or none of it: one invalid event refuses the batch', async () => {
      const id = freshId();
      const stream = `experiment-${id}`;
      const batch: unknown[] = samples(id, 0, 4);
      const broken = architectureSampled(id, 4);
      batch.push({ ...broken, data: { ...broken.data, index: 'four' } });
      await assert.rejects(store.append(stream, batch as NasnetEvent[], 'no_stream'), (error: unknown) => {
        assert.ok(error instanceof InvalidEventError);
        assert.equal(error.eventType, 'ArchitectureSampled');
        assert.equal(error.field, 'data.index');
        assert.equal(error.value, 'four');
        return true;
      });
      assert.equal((await store.readStream(stream)).exists, false);
    });

    it('reads a stream backwards, from a revision, and at most maxCount events', async () => {
      const id = freshId();
      const stream = `experiment-${id}`;
      await store.append(stream, samples(id, 0, 10), 'no_stream');
      const revisions = (events: RecordedEvent[]) => events.map((e) => Number(e.revision));
      assert.deepEqual(revisions((await store.readStream(stream, { fromRevision: 7n })).events), [7, 8, 9]);
      assert.deepEqual(revisions((await store.readStream(stream, { direction: 'backwards', maxCount: 3 })).events), [9, 8, 7]);
      assert.deepEqual(
        revisions((await store.readStream(stream, { direction: 'backwards', fromRevision: 2n })).events),
        [2, 1, 0],
      );
      assert.deepEqual(revisions((await store.readStream(stream, { fromRevision: 3n, maxCount: 2 })).events), [3, 4]);
      const missing = await store.readStream(`experiment-${freshId()}`);
      assert.deepEqual(missing, { exists: false, revision: null, events: [] });
    });

    it('reads the whole log in commit order after a position, with filters', async () => {
      const id = freshId();
      const start = await store.headPosition();
      const a = await store.append(`experiment-${id}`, samples(id, 0, 3), 'no_stream');
      const b = await second.append(`trial-${id}-0`, [trainingProgressed(id, 0, 0)], 'no_stream');
      const c = await store.append(`experiment-${id}`, samples(id, 3, 2), 2n);
      const all = await collect(store.readAll({ fromPosition: start, filter: ownStreams(id) }));
      assert.deepEqual(
        all.map((e) => e.position),
        [...a.positions, ...b.positions, ...c.positions],
      );
      const afterFirst = await collect(store.readAll({ fromPosition: a.positions[0]!, filter: ownStreams(id) }));
      assert.equal(afterFirst.length, all.length - 1);
      const trials = await collect(store.readAll({ fromPosition: start, filter: { streamPrefixes: [`trial-${id}-`] } }));
      assert.deepEqual(
        trials.map((e) => e.type),
        ['TrainingProgressed'],
      );
      const typed = await collect(
        store.readAll({ fromPosition: start, filter: { ...ownStreams(id), types: ['ArchitectureSampled'] }, maxCount: 4 }),
      );
      assert.equal(typed.length, 4);
      assert.ok(typed.every((e) => e.type === 'ArchitectureSampled'));
    });

    it('subscribes: the backlog first, then live events from this and another handle, no gap, no duplicate', async () => {
      const id = freshId();
      const start = await store.headPosition();
      const stream = `experiment-${id}`;
      await store.append(stream, samples(id, 0, 30), 'no_stream');
      const received = firstValueFrom(store.subscribe({ fromPosition: start, filter: ownStreams(id) }).pipe(take(90), toArray()));
      // live: from this handle and from the other one, interleaved
      let revision = 29n;
      for (let round = 0; round < 3; round++) {
        revision = (await store.append(stream, samples(id, 30 + round * 20, 10), revision)).nextRevision;
        revision = (await second.append(stream, samples(id, 40 + round * 20, 10), revision)).nextRevision;
      }
      const events = await received;
      assert.deepEqual(
        events.map((e) => e.revision),
        Array.from({ length: 90 }, (_, i) => BigInt(i)),
      );
      for (let i = 1; i < events.length; i++) assert.ok(events[i]!.position > events[i - 1]!.position);
    });

    it('subscribes from a checkpoint: only events after it', async () => {
      const id = freshId();
      const first = await store.append(`experiment-${id}`, samples(id, 0, 5), 'no_stream');
      const events = await firstValueFrom(
        store.subscribe({ fromPosition: first.positions[2]!, filter: ownStreams(id) }).pipe(take(2), toArray()),
      );
      assert.deepEqual(
        events.map((e) => e.position),
        first.positions.slice(3),
      );
    });

    it('keeps two concurrent writers consistent: every stream gapless, no event lost or doubled', async () => {
      const id = freshId();
      const streams = [0, 1, 2].map((k) => `trial-${id}-${k}`);
      // Each writer appends 15 events round-robin over the shared streams, retrying on conflicts.
      const writer = async (handle: EventStore, name: string) => {
        let conflicts = 0;
        for (let n = 0; n < 15; n++) {
          const stream = streams[n % streams.length]!;
          for (;;) {
            const head = await handle.readStream(stream, { direction: 'backwards', maxCount: 1 });
            try {
              const event = trainingProgressed(id, n % streams.length, n, name);
              event.id = deterministicEventId(name, stream, n);
              await handle.append(stream, [event], head.revision ?? 'no_stream');
              break;
            } catch (error) {
              if (!(error instanceof WrongExpectedVersionError)) throw error;
              conflicts++;
            }
          }
        }
        return conflicts;
      };
      await Promise.all([writer(store, 'w1'), writer(second, 'w2')]);
      let total = 0;
      for (const stream of streams) {
        const read = await store.readStream(stream);
        assert.deepEqual(
          read.events.map((e) => e.revision),
          read.events.map((_, i) => BigInt(i)),
        );
        assert.equal(new Set(read.events.map((e) => e.id)).size, read.events.length);
        total += read.events.length;
      }
      assert.equal(total, 30);
    });
  });
}
