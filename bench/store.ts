/**
 * Event store throughput on SQLite, with plain-sqlite3 ceilings measured in the same run.
 *   npm run bench:store -- --events 100000 --json
 * Prints one JSON object: the fields are described in the README, "Measured figures".
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { firstValueFrom, take, toArray } from 'rxjs';
import sqlite3 from 'sqlite3';
import { SqliteConnection } from '../core/store/sqlite/connection.ts';
import { openSqliteStore } from '../core/store/sqlite/sqlite-store.ts';
import type { NasnetEvent } from '../core/events/event.ts';
import { architectureSampled, trainingProgressed } from '../test/support/events.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    single: { type: 'string' },
    synchronous: { type: 'string', default: 'normal' },
    json: { type: 'boolean', default: false },
  },
});
const total = Number(values.events);
if (!Number.isSafeInteger(total) || total < 100 || total % 100 !== 0) {
  throw new Error(`--events must be a positive multiple of 100 (got ${values.events})`);
}
const singles = Number(values.single ?? Math.min(total / 10, 5000));
const synchronous = values.synchronous === 'full' ? 'full' : 'normal';
const BATCH = 100;
const PAGE = 2000;

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

const dir = await mkdtemp(join(tmpdir(), 'nasnet-bench-store-'));
try {
  // ~1 KB ArchitectureSampled events with full genotypes, as a search writes them.
  const events: NasnetEvent[] = Array.from({ length: total }, (_, i) => architectureSampled('bench', i));
  const payloadBytes = Math.round(events.reduce((sum, e) => sum + JSON.stringify(e.data).length, 0) / total);

  const rows = events.map((e, i) => [
    'experiment-bench',
    i,
    e.id,
    e.type,
    e.version,
    JSON.stringify(e.data),
    JSON.stringify(e.metadata),
  ]);
  const insertSql = `INSERT INTO events (stream, revision, id, type, version, data, metadata) VALUES ${Array(BATCH).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`;

  const path = join(dir, 'store.db');
  const store = await openSqliteStore(path, { synchronous });
  // The ceiling: plain sqlite3 on a bare table holding the same rows, same pragmas.
  const rawPath = join(dir, 'raw.db');
  const raw = await SqliteConnection.open(rawPath, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
  await raw.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous.toUpperCase()};`);
  await raw.exec(
    'CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER, id TEXT, type TEXT, version INTEGER, data TEXT, metadata TEXT)',
  );

  // Batched appends, interleaved batch by batch with the raw inserts so both meet the
  // same machine noise and the same file sizes: the ratio is a paired measurement.
  let appendMs = 0;
  let rawInsertMs = 0;
  let expected: bigint | 'no_stream' = 'no_stream';
  for (let i = 0; i < total; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    appendMs += await time(async () => {
      expected = (await store.append('experiment-bench', batch, expected)).nextRevision;
    });
    rawInsertMs += await time(async () => {
      await raw.exec('BEGIN');
      await raw.run(insertSql, rows.slice(i, i + BATCH).flat() as Array<string | number>);
      await raw.exec('COMMIT');
    });
  }

  const singleEvents = Array.from({ length: singles }, (_, i) => trainingProgressed('bench', i % 500, Math.floor(i / 500)));
  const singleMs = await time(async () => {
    for (const [i, event] of singleEvents.entries()) {
      const revision = Math.floor(i / 500);
      await store.append(`trial-bench-${i % 500}`, [event], revision === 0 ? 'no_stream' : BigInt(revision - 1));
    }
  });
  const stored = total + singles;
  let readCount = 0;
  const readAllMs = await time(async () => {
    for await (const event of store.readAll()) if (event.position > 0n) readCount++;
  });
  let caughtUp = 0;
  const catchUpMs = await time(async () => {
    caughtUp = (await firstValueFrom(store.subscribe().pipe(take(stored), toArray()))).length;
  });
  await store.close();
  if (readCount !== stored || caughtUp !== stored)
    throw new Error(`read ${readCount} and caught up ${caughtUp} of ${stored} events`);
  const dbBytes = (await stat(path)).size;

  let rawRead = 0;
  const rawReadMs = await time(async () => {
    let after = 0;
    for (;;) {
      const page = await raw.all<{ position: number; data: string }>(
        'SELECT position, stream, revision, id, type, version, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?',
        [after, PAGE],
      );
      for (const row of page) if (JSON.parse(row.data)) rawRead++;
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.position;
    }
  });
  await raw.close();
  if (rawRead !== total) throw new Error(`raw read ${rawRead} of ${total}`);

  const result = {
    events: total,
    singleAppends: singles,
    payloadBytes,
    synchronous,
    appendEventsPerSec: rate(total, appendMs),
    appendSingleEventsPerSec: rate(singles, singleMs),
    readAllEventsPerSec: rate(stored, readAllMs),
    subscribeCatchUpEventsPerSec: rate(stored, catchUpMs),
    dbBytesPerEvent: Math.round(dbBytes / stored),
    rawInsertEventsPerSec: rate(total, rawInsertMs),
    rawReadEventsPerSec: rate(total, rawReadMs),
    ratios: {
      appendVsRawInsert: +(rawInsertMs / appendMs).toFixed(2),
      readAllVsRawRead: +(stored / readAllMs / (total / rawReadMs)).toFixed(2),
      catchUpVsReadAll: +(readAllMs / catchUpMs).toFixed(2),
    },
    machine: { node: process.version, sqlite: sqlite3.VERSION, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
} finally {
  await rm(dir, { recursive: true, force: true });
}
