import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import type { RecordedEvent } from '../../core/events/event.ts';
import { parsePostgresAddress, parseStoreAddress } from '../../core/store/address.ts';
import { StoreArgumentError, StoreOpenError } from '../../core/store/errors.ts';
import { openPostgresStore, type PostgresStoreOptions } from '../../core/store/postgres/postgres-store.ts';
import { architectureSampled } from '../support/events.ts';
import { adminClient, dropSchema, freshSchema, inSchema, NO_PG_SERVER, PG_URL } from '../support/postgres.ts';

const url = PG_URL ?? '';
const skip = PG_URL ? false : NO_PG_SERVER;

describe('PostgreSQL store addresses', () => {
  it('reads the schema from the address, hides the password, and refuses a schema that is no plain identifier', () => {
    const parsed = parseStoreAddress('postgres://ann:secret@db.lan:5432/nas?schema=team_a&sslmode=disable');
    assert.deepEqual(parsed, {
      kind: 'postgres',
      connectionString: 'postgres://ann:secret@db.lan:5432/nas?sslmode=disable',
      schema: 'team_a',
      display: 'postgres://ann:***@db.lan:5432/nas?schema=team_a&sslmode=disable',
    });
    assert.equal(parsePostgresAddress('postgresql://db/nas').schema, 'nasnet');
    assert.throws(
      () => parseStoreAddress('postgres://ann:secret@db/nas?schema=Robert%27);DROP'),
      (error: unknown) =>
        error instanceof StoreArgumentError &&
        /names schema "Robert'\);DROP"/.test(error.message) &&
        !/secret/.test(error.message),
    );
  });
});

describe('PostgreSQL store', { skip }, () => {
  const schema = freshSchema('pgtest');
  const address = inSchema(url, schema);
  const open = (options: PostgresStoreOptions = {}) => openPostgresStore(address, options);
  after(() => dropSchema(url, schema));

  it('never shows a reader a position before a lower one that commits later', async () => {
    // Writer A takes its positions and then holds its transaction open; writer B appends meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const aInside = new Promise<void>((resolve) => (inside = resolve));
    const a = await open({
      beforeCommit: async () => {
        inside();
        await held;
      },
    });
    const b = await open();
    const reader = await open();
    const from = await reader.headPosition();
    const seen = firstValueFrom(reader.subscribe({ fromPosition: from }).pipe(take(2), toArray()));

    const appendA = a.append('experiment-ordera', [architectureSampled('ordera', 0)], 'no_stream');
    await aInside;
    let bDone = false;
    const appendB = b.append('experiment-orderb', [architectureSampled('orderb', 0)], 'no_stream').then((result) => {
      bDone = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(bDone, false, 'B waits for the log while A has positions it has not committed');
    const early: RecordedEvent[] = [];
    for await (const event of reader.readAll({ fromPosition: from })) early.push(event);
    assert.deepEqual(early, [], 'a reader sees neither while A is open');

    release();
    const [resultA, resultB] = await Promise.all([appendA, appendB]);
    assert.ok(resultA.positions[0]! < resultB.positions[0]!);
    const delivered = await seen;
    assert.deepEqual(
      delivered.map((event) => event.stream),
      ['experiment-ordera', 'experiment-orderb'],
    );
    await Promise.all([a.close(), b.close(), reader.close()]);
  });

  it('lets a writer that stalls mid-append hold up the log only until the server ends its transaction', async () => {
    const stalled = await open({
      idleInTransactionMs: 500,
      beforeCommit: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
    });
    const other = await open();
    const stalling = stalled.append('experiment-stalled', [architectureSampled('stalled', 0)], 'no_stream');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await other.append('experiment-waiting', [architectureSampled('waiting', 0)], 'no_stream');
    assert.ok(Date.now() - started < 1_900, 'the other writer went ahead once the stalled transaction was ended');
    await assert.rejects(stalling, /idle-in-transaction|terminat|Connection terminated/i);
    assert.equal((await other.readStream('experiment-stalled')).exists, false, 'nothing of the stalled append was stored');
    await Promise.all([stalled.close(), other.close()]);
  });

  it('delivers every event of racing writers once, in position order, to a reader on another connection', async () => {
    const writers = await Promise.all([0, 1, 2, 3].map(() => open({ poolSize: 2 })));
    const reader = await open();
    const from = await reader.headPosition();
    const total = 4 * 25 * 2;
    const received = firstValueFrom(
      reader.subscribe({ fromPosition: from, filter: { streamPrefixes: ['experiment-race'] } }).pipe(take(total), toArray()),
    );
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let batch = 0; batch < 25; batch++) {
          const id = `race${w}`;
          await writer.append(
            `experiment-${id}`,
            [architectureSampled(id, batch * 2), architectureSampled(id, batch * 2 + 1)],
            batch === 0 ? 'no_stream' : BigInt(batch * 2 - 1),
          );
        }
      }),
    );
    const events = await received;
    const positions = events.map((event) => event.position);
    assert.deepEqual(
      positions,
      [...positions].sort((x, y) => (x < y ? -1 : 1)),
      'in position order',
    );
    assert.equal(new Set(events.map((event) => event.id)).size, total, 'each once');
    const stored: bigint[] = [];
    for await (const event of reader.readAll({ fromPosition: from, filter: { streamPrefixes: ['experiment-race'] } }))
      stored.push(event.position);
    assert.deepEqual(positions, stored, 'the subscription saw exactly what readAll reads');
    await Promise.all([...writers, reader].map((store) => store.close()));
  });

  it('keeps a subscription live across a dropped LISTEN connection, losing nothing', async () => {
    const reader = await open();
    const writer = await open();
    const from = await reader.headPosition();
    const received = firstValueFrom(
      reader.subscribe({ fromPosition: from }).pipe(
        filter((event) => event.stream === 'experiment-dropped'),
        take(2),
        toArray(),
      ),
    );
    await writer.append('experiment-dropped', [architectureSampled('dropped', 0)], 'no_stream');
    const client = await adminClient(url);
    const { rowCount } = await client.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN nasnet_events_%' AND pid <> pg_backend_pid()",
    );
    await client.end();
    assert.ok((rowCount ?? 0) >= 1, 'the listener was found and cut');
    await writer.append('experiment-dropped', [architectureSampled('dropped', 1)], 0n);
    const events = await received;
    assert.deepEqual(
      events.map((event) => event.revision),
      [0n, 1n],
    );
    await Promise.all([reader.close(), writer.close()]);
  });

  it('completes a subscription made after close, without opening a connection', async () => {
    const store = await open();
    await store.close();
    assert.deepEqual(await firstValueFrom(store.subscribe().pipe(toArray())), []);
  });

  it('refuses a schema newer than this code, changing nothing', async () => {
    const store = await open();
    await store.close();
    const client = await adminClient(url);
    await client.query(`INSERT INTO ${schema}.nasnet_schema (version, name) VALUES (99, 'future')`);
    try {
      await assert.rejects(
        open(),
        (error: unknown) =>
          error instanceof StoreOpenError && /has schema version 99, newer than this nasnet knows/.test(error.message),
      );
    } finally {
      await client.query(`DELETE FROM ${schema}.nasnet_schema WHERE version = 99`);
      await client.end();
    }
  });

  it('names the server it cannot reach', async () => {
    await assert.rejects(
      openPostgresStore('postgres://nobody:pw@127.0.0.1:1/none'),
      (error: unknown) =>
        error instanceof StoreOpenError &&
        /cannot open the PostgreSQL event store at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/.test(error.message),
    );
  });
});
