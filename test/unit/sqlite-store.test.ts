import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import sqlite3 from 'sqlite3';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../core/events/catalogue-registry.ts';
import { InvalidEventError } from '../../core/events/validate.ts';
import { DEFAULT_STORE_ADDRESS, parseStoreAddress } from '../../core/store/address.ts';
import { StoreArgumentError, StoreOpenError } from '../../core/store/errors.ts';
import { openStore } from '../../core/store/open-store.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { loadMigrations } from '../../core/store/sqlite/migrate.ts';
import type { NasnetEvent } from '../../core/events/event.ts';
import { architectureSampled, asWritten, exampleOfEveryType, trainingProgressed } from '../support/events.ts';

const KNOWN_VERSIONS = (await loadMigrations()).map((m) => m.version);

const dir = await mkdtemp(join(tmpdir(), 'nasnet-sqlite-'));
after(() => rm(dir, { recursive: true, force: true }));

function query<Row>(path: string, sql: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (error) => error && reject(error));
    db.all<Row>(sql, (error, rows) => {
      db.close();
      return error ? reject(error) : resolve(rows);
    });
  });
}

describe('store addresses', () => {
  it('parses sqlite: and esdb:// addresses, defaulting to .nasnet/nasnet.db', () => {
    assert.equal(DEFAULT_STORE_ADDRESS, 'sqlite:.nasnet/nasnet.db');
    assert.deepEqual(parseStoreAddress(), { kind: 'sqlite', path: '.nasnet/nasnet.db' });
    assert.deepEqual(parseStoreAddress('sqlite:/tmp/x.db'), { kind: 'sqlite', path: '/tmp/x.db' });
    assert.deepEqual(parseStoreAddress('esdb://localhost:2113?tls=false'), {
      kind: 'esdb',
      connectionString: 'esdb://localhost:2113?tls=false',
    });
    assert.throws(
      () => parseStoreAddress('mysql://x'),
      (error: unknown) => {
        assert.ok(error instanceof StoreArgumentError);
        assert.equal(error.field, 'store');
        assert.match(
          error.message,
          /must be sqlite:<path>, postgres:\/\/user@host:5432\/db\[\?schema=name\] or esdb:\/\/host:port \(got "mysql:\/\/x"\)/,
        );
        return true;
      },
    );
    assert.throws(() => parseStoreAddress('sqlite:'), /needs a file path/);
  });
});

describe('SQLite store', () => {
  it('creates the file and its folders, in WAL mode, with the schema recorded', async () => {
    const path = join(dir, 'nested', 'deeper', 'new.db');
    const store = await openStore(`sqlite:${path}`);
    await store.close();
    const [mode] = await query<{ journal_mode: string }>(path, 'PRAGMA journal_mode');
    assert.equal(mode!.journal_mode, 'wal');
    const versions = await query<{ version: number; name: string }>(path, 'SELECT version, name FROM nasnet_schema');
    assert.deepEqual(
      versions.map((v) => v.version),
      KNOWN_VERSIONS,
    );
  });

  it('keeps events across reopening and does not apply migrations twice', async () => {
    const path = join(dir, 'reopen.db');
    const events = exampleOfEveryType('reopen');
    let store = await openSqliteStore(path);
    for (const [i, event] of events.entries()) await store.append(`experiment-reopen-${i}`, [event], 'no_stream');
    await store.close();
    store = await openSqliteStore(path);
    const read: NasnetEvent[] = [];
    for await (const event of store.readAll()) read.push(asWritten(event));
    await store.close();
    assert.deepEqual(read, events);
    assert.equal((await query(path, 'SELECT * FROM nasnet_schema')).length, KNOWN_VERSIONS.length);
  });

  it('refuses a file that is not a SQLite database and leaves it byte for byte untouched', async () => {
    const path = join(dir, 'notes.txt');
    const content = 'these are my notes, not a database\n'.repeat(200);
    await writeFile(path, content);
    const before = await stat(path);
    await assert.rejects(openSqliteStore(path), (error: unknown) => {
      assert.ok(error instanceof StoreOpenError);
      assert.match(error.message, /notes\.txt is not a SQLite database.*left untouched/);
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), content);
    assert.equal((await stat(path)).mtimeMs, before.mtimeMs);
    assert.equal(existsSync(`${path}-wal`), false);
    assert.equal(existsSync(`${path}-shm`), false);
  });

  it('refuses a database whose schema is newer than the code, changing nothing', async () => {
    const path = join(dir, 'future.db');
    await (await openSqliteStore(path)).close();
    await new Promise<void>((resolve, reject) => {
      const db = new sqlite3.Database(path);
      db.run("INSERT INTO nasnet_schema VALUES (99, 'from_the_future', '2030-01-01T00:00:00Z')", (error) =>
        db.close(() => (error ? reject(error) : resolve())),
      );
    });
    const hashBefore = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    await assert.rejects(
      openSqliteStore(path),
      new RegExp(`schema version 99, newer than this nasnet knows \\(${KNOWN_VERSIONS.at(-1)}\\): upgrade nasnet`),
    );
    assert.equal(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
      hashBefore,
    );
  });

  it('refuses events JSON cannot carry before writing anything of the batch', async () => {
    const store = await openSqliteStore(join(dir, 'faithful.db'));
    try {
      const ok = architectureSampled('faith', 0);
      const cyclic: Record<string, unknown> = {};
      cyclic.again = cyclic;
      for (const bad of [10n, Number.NaN, Number.POSITIVE_INFINITY, cyclic, () => 0]) {
        const poisoned = { ...architectureSampled('faith', 1), data: { ...architectureSampled('faith', 1).data, entropy: bad } };
        await assert.rejects(store.append('experiment-faith', [ok, poisoned as NasnetEvent], 'no_stream'), InvalidEventError);
      }
      assert.equal((await store.readStream('experiment-faith')).exists, false);
      assert.equal(await store.headPosition(), 0n);
    } finally {
      await store.close();
    }
  });

  it('refuses bad stream names, revisions and empty batches with errors naming the argument', async () => {
    const store = await openSqliteStore(join(dir, 'arguments.db'));
    try {
      const event = architectureSampled('args', 0);
      await assert.rejects(store.append('', [event], 'any'), /stream must be a string/);
      await assert.rejects(store.append('$all', [event], 'any'), /stream must not start with \$/);
      await assert.rejects(store.append('experiment-args', [event], -1n), /expectedRevision must be/);
      await assert.rejects(store.append('experiment-args', [event], 3 as unknown as bigint), /expectedRevision must be/);
      await assert.rejects(store.append('experiment-args', [], 'any'), /events must be a non-empty array/);
      await assert.rejects(store.append('experiment-args', [event, event], 'any'), /appears twice in one append/);
      await assert.rejects(store.readStream('experiment-args', { maxCount: -2 }), /maxCount must be/);
      assert.equal(await store.headPosition(), 0n);
    } finally {
      await store.close();
    }
  });

  it('upcasts stored events of an older schema version when they are read', async () => {
    const path = join(dir, 'upcast.db');
    const v1 = await openSqliteStore(path);
    await v1.append('trial-up-0', [trainingProgressed('up', 0, 2)], 'no_stream');
    await v1.close();
    const v2: EventCatalogue = {
      schemas: {
        ...NASNET_CATALOGUE.schemas,
        TrainingProgressed: { ...NASNET_CATALOGUE.schemas.TrainingProgressed!, version: 2 },
      },
      upcasters: [{ type: 'TrainingProgressed', fromVersion: 1, upcast: (data) => ({ ...data, phase: 'search' }) }],
    };
    const store = await openSqliteStore(path, { catalogue: v2 });
    try {
      const [event] = (await store.readStream('trial-up-0')).events;
      assert.equal(event!.version, 2);
      assert.equal((event!.data as unknown as { phase: string }).phase, 'search');
      assert.equal(event!.type === 'TrainingProgressed' && event!.data.experimentId, 'up');
    } finally {
      await store.close();
    }
    // and a store of an older nasnet refuses to read events newer than it knows
    const old: EventCatalogue = { schemas: { ...NASNET_CATALOGUE.schemas }, upcasters: [] };
    const newer = await openSqliteStore(path, { catalogue: v2 });
    await newer.close();
    const oldStore = await openSqliteStore(path, { catalogue: old });
    try {
      await new Promise<void>((resolve) => {
        const probe = new sqlite3.Database(path);
        probe.run('UPDATE events SET version = 5', () => probe.close(() => resolve()));
      });
      await assert.rejects(oldStore.readStream('trial-up-0'), /schema version 5, newer than this nasnet knows \(1\)/);
    } finally {
      await oldStore.close();
    }
  });

  it('completes live subscriptions when the store closes', async () => {
    const store = await openSqliteStore(join(dir, 'close.db'));
    await store.append('experiment-close', [architectureSampled('close', 0)], 'no_stream');
    const all = lastValueFrom(store.subscribe().pipe(toArray()));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await store.close();
    assert.equal((await all).length, 1);
    await assert.rejects(store.append('experiment-close', [architectureSampled('close', 1)], 0n), /closed/);
  });
});
