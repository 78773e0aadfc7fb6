/**
 * Event store throughput, with the plain driver's ceilings on the same server measured in the same run.
 *   npm run bench:store -- --events 100000 --json                      (SQLite)
 *   npm run bench:store -- --events 100000 --json --store postgres     (PostgreSQL at $NASNET_PG_URL)
 * Prints one JSON object: the fields are described in the README, "Measured figures".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { NasnetEvent } from '../core/events/event.ts';
import { architectureSampled, trainingProgressed } from '../test/support/events.ts';
import { postgresBackend, sqliteBackend, type BenchBackend, type RawRow } from './store-backends.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    single: { type: 'string' },
    synchronous: { type: 'string', default: 'normal' },
    store: { type: 'string', default: 'sqlite' },
    'pg-url': { type: 'string', default: process.env.NASNET_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    json: { type: 'boolean', default: false },
  },
});
const total = Number(values.events);
if (!Number.isSafeInteger(total) || total < 100 || total % 100 !== 0) {
  throw new Error(`--events must be a positive multiple of 100 (got ${values.events})`);
}
if (values.store !== 'sqlite' && values.store !== 'postgres') {
  throw new Error(`--store must be sqlite or postgres (got ${values.store})`);
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
const backend: BenchBackend =
  values.store === 'postgres' ? await postgresBackend(values['pg-url']!) : await sqliteBackend(dir, synchronous);
try {
  // ~1 KB ArchitectureSampled events with full genotypes, as a search writes them.
  const events: NasnetEvent[] = Array.from({ length: total }, (_, i) => architectureSampled('bench', i));
  const payloadBytes = Math.round(events.reduce((sum, e) => sum + JSON.stringify(e.data).length, 0) / total);
  const rows = events.map(
    (e, i): RawRow => ['experiment-bench', i, e.id, e.type, e.version, JSON.stringify(e.data), JSON.stringify(e.metadata)],
  );
  const { store } = backend;

  // Batched appends, interleaved batch by batch with the raw inserts so both meet the
  // same machine noise and the same table sizes: the ratio is a paired measurement.
  let appendMs = 0;
  let rawInsertMs = 0;
  let expected: bigint | 'no_stream' = 'no_stream';
  for (let i = 0; i < total; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    appendMs += await time(async () => {
      expected = (await store.append('experiment-bench', batch, expected)).nextRevision;
    });
    rawInsertMs += await time(() => backend.rawInsert(rows.slice(i, i + BATCH)));
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
  if (readCount !== stored || caughtUp !== stored)
    throw new Error(`read ${readCount} and caught up ${caughtUp} of ${stored} events`);
  const bytesPerEvent = await backend.bytesPerEvent(stored);

  let rawRead = 0;
  const rawReadMs = await time(async () => {
    rawRead = await backend.rawReadAll(PAGE);
  });
  if (rawRead !== total) throw new Error(`raw read ${rawRead} of ${total}`);

  const result = {
    store: values.store,
    events: total,
    singleAppends: singles,
    payloadBytes,
    ...(values.store === 'sqlite' ? { synchronous } : {}),
    appendEventsPerSec: rate(total, appendMs),
    appendSingleEventsPerSec: rate(singles, singleMs),
    readAllEventsPerSec: rate(stored, readAllMs),
    subscribeCatchUpEventsPerSec: rate(stored, catchUpMs),
    dbBytesPerEvent: bytesPerEvent,
    rawInsertEventsPerSec: rate(total, rawInsertMs),
    rawReadEventsPerSec: rate(total, rawReadMs),
    ratios: {
      appendVsRawInsert: +(rawInsertMs / appendMs).toFixed(2),
      readAllVsRawRead: +(stored / readAllMs / (total / rawReadMs)).toFixed(2),
      catchUpVsReadAll: +(readAllMs / catchUpMs).toFixed(2),
    },
    machine: { node: process.version, ...backend.describe, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
} finally {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
}
