/**
 * Runs in a child process for the multi-process tests: `node --import tsx store-child.ts <mode> <db> ...`.
 * - `contend <db> <writer> <count> <streams>`: prints `ready`, waits for a line on stdin (so two
 *   children really overlap), then appends `count` events round-robin to shared
 *   trial streams with expected revisions, retrying on conflicts; prints the number of conflicts.
 * - `batches <db> <experimentId> <batchSize>`: appends whole batches, one new stream each,
 *   printing `begin <n>` before each append, until killed.
 * - `append <db> <experimentId> <count>`: appends `count` samples to one stream, one by one.
 */
import { deterministicEventId } from '../../core/events/ids.ts';
import { WrongExpectedVersionError } from '../../core/store/errors.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { architectureSampled, trainingProgressed } from './events.ts';

const [mode, path, name, countText, streamsText] = process.argv.slice(2);
const store = await openSqliteStore(path!);
const count = Number(countText);

if (mode === 'contend') {
  const streams = Array.from({ length: Number(streamsText) }, (_, k) => `trial-contend-${k}`);
  let conflicts = 0;
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  for (let n = 0; n < count; n++) {
    const stream = streams[n % streams.length]!;
    for (;;) {
      const head = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
      const event = trainingProgressed('contend', n % streams.length, n, name);
      event.id = deterministicEventId(name!, n);
      try {
        await store.append(stream, [event], head.revision ?? 'no_stream');
        break;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        conflicts++;
      }
    }
  }
  process.stdout.write(`${conflicts}\n`);
} else if (mode === 'batches') {
  for (let batch = 0; ; batch++) {
    const events = Array.from({ length: count }, (_, i) => architectureSampled(`${name}b${batch}`, i));
    process.stdout.write(`begin ${batch}\n`);
    await store.append(`experiment-${name}b${batch}`, events, 'no_stream');
  }
} else if (mode === 'append') {
  for (let i = 0; i < count; i++) {
    await store.append(`experiment-${name}`, [architectureSampled(name!, i)], i === 0 ? 'no_stream' : BigInt(i - 1));
  }
}
await store.close();
