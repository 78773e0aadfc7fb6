import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, take, toArray } from 'rxjs';
import sqlite3 from 'sqlite3';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';

const CHILD = fileURLToPath(new URL('../support/store-child.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'nasnet-processes-'));
after(() => rm(dir, { recursive: true, force: true }));

function child(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
}

function nextLine(proc: ChildProcess): Promise<string> {
  return new Promise((resolve) => createInterface({ input: proc.stdout! }).once('line', resolve));
}

async function finished(proc: ChildProcess): Promise<string> {
  let out = '';
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  assert.equal(code, 0, `child exited with ${code}`);
  return out;
}

describe('SQLite store across processes', () => {
  it('two processes appending with expected revisions lose no event and store none twice', async () => {
    const path = join(dir, 'contend.db');
    await (await openSqliteStore(path)).close();
    const writers = [child('contend', path, 'p1', '150', '3'), child('contend', path, 'p2', '150', '3')];
    assert.deepEqual(await Promise.all(writers.map(nextLine)), ['ready', 'ready']);
    const done = writers.map(finished);
    for (const writer of writers) writer.stdin!.write('go\n');
    const outputs = await Promise.all(done);
    const store = await openSqliteStore(path);
    try {
      let total = 0;
      const ids = new Set<string>();
      for (let k = 0; k < 3; k++) {
        const read = await store.readStream(`trial-contend-${k}`);
        assert.deepEqual(
          read.events.map((e) => e.revision),
          read.events.map((_, i) => BigInt(i)),
          'revisions are gapless',
        );
        for (const event of read.events) ids.add(event.id);
        total += read.events.length;
      }
      assert.equal(total, 300);
      assert.equal(ids.size, 300);
      // the processes did contend (otherwise this test proves nothing about conflicts)
      assert.ok(outputs.reduce((sum, out) => sum + Number(out.trim()), 0) > 0, 'expected some conflicts');
    } finally {
      await store.close();
    }
  });

  it('delivers to a subscriber the events another process appends, in order', async () => {
    const path = join(dir, 'live.db');
    const store = await openSqliteStore(path, { pollIntervalMs: 10 });
    try {
      const received = firstValueFrom(store.subscribe().pipe(take(40), toArray()));
      await finished(child('append', path, 'live', '40'));
      const events = await received;
      assert.deepEqual(
        events.map((e) => e.revision),
        Array.from({ length: 40 }, (_, i) => BigInt(i)),
      );
      assert.ok(events.every((e) => e.stream === 'experiment-live' && e.metadata.writerId === 'test'));
    } finally {
      await store.close();
    }
  });

  it('a writer killed with SIGKILL in the middle of a batch leaves each batch wholly there or wholly absent', async () => {
    const batchSize = 400;
    for (let round = 0; round < 3; round++) {
      const path = join(dir, `kill-${round}.db`);
      await (await openSqliteStore(path)).close();
      const proc = child('batches', path, `k${round}`, String(batchSize));
      const killAt = 2 + round;
      const lines = createInterface({ input: proc.stdout! });
      const exited = new Promise((resolve) => proc.on('exit', resolve));
      for await (const line of lines) {
        // kill right after it announced a batch: its transaction is very likely open
        if (line === `begin ${killAt}`) {
          await new Promise((resolve) => setTimeout(resolve, 3 * round));
          proc.kill('SIGKILL');
          break;
        }
      }
      await exited;
      const counts = await new Promise<Array<{ stream: string; n: number }>>((resolve, reject) => {
        const db = new sqlite3.Database(path, (error) => error && reject(error));
        db.all<{ stream: string; n: number }>('SELECT stream, count(*) AS n FROM events GROUP BY stream', (error, rows) => {
          db.close();
          return error ? reject(error) : resolve(rows);
        });
      });
      assert.ok(counts.length >= killAt, `batches before the kill are all there (round ${round})`);
      for (const { stream, n } of counts) assert.equal(n, batchSize, `${stream} holds a whole batch`);
      // and the store is usable afterwards
      const store = await openSqliteStore(path);
      try {
        const all: bigint[] = [];
        for await (const event of store.readAll()) all.push(event.position);
        assert.equal(all.length, counts.length * batchSize);
      } finally {
        await store.close();
      }
    }
  });
});
