import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { getExperiment } from '../../core/projections/queries.ts';
import { readAhead } from '../../core/projections/read-ahead.ts';
import type { SampleRow } from '../../core/projections/read-model-view.ts';
import { RowCache } from '../../core/projections/row-cache.ts';
import { writeScript } from '../../core/projections/row-writes.ts';
import { applyEvents, openReadModels, readCheckpoint } from '../../core/projections/sqlite-projector.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import { architectureSampled, experimentCreated } from '../support/events.ts';

const dir = await mkdtemp(join(tmpdir(), 'nasnet-projector-batches-'));
const open: SqliteConnection[] = [];
after(async () => {
  for (const db of open) await db.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function readModels(name: string): Promise<{ db: SqliteConnection; queries: () => number }> {
  const db = await openReadModels(join(dir, name));
  open.push(db);
  let count = 0;
  const all = db.all.bind(db);
  const get = db.get.bind(db);
  db.all = (sql, params) => {
    count++;
    return all(sql, params);
  };
  db.get = (sql, params) => {
    count++;
    return get(sql, params);
  };
  return { db, queries: () => count };
}

function recorded(event: NasnetEvent, position: number): RecordedEvent {
  return { ...event, stream: 'x-1', revision: 0n, position: BigInt(position) } as RecordedEvent;
}

const firstBatch = () => [recorded(experimentCreated('b'), 1), recorded(architectureSampled('b', 0), 2)];

describe('the row cache', () => {
  it('asks the database for the rows it lacks; on read models that started empty, absent rows cost no query', async () => {
    const { db, queries } = await readModels('cache.db');
    await new RowCache().compile(db, firstBatch());
    assert.ok(queries() > 0);
    const before = queries();
    const empty = new RowCache();
    empty.startedEmpty();
    const { script } = await empty.compile(db, firstBatch());
    assert.equal(queries(), before);
    assert.match(script, /^INSERT INTO rm_experiments /m);
    // What the cache wrote, the next batch reads from it.
    const { script: next } = await empty.compile(db, [recorded(architectureSampled('b', 1), 3)]);
    assert.equal(queries(), before);
    assert.match(next, /^UPDATE rm_experiments SET sample_count = 2(, updated_at = '[^']+')? WHERE id = 'b';$/m);
    empty.clear();
    await empty.compile(db, [recorded(architectureSampled('b', 2), 4)]);
    assert.ok(queries() > before, 'after clear() the database is asked again');
  });

  it('keeps the rows of batches not yet committed however full it is, and reads the ones it dropped again', async () => {
    const { db, queries } = await readModels('evict.db');
    const cache = new RowCache(1);
    cache.startedEmpty();
    const first = await cache.compile(db, firstBatch());
    const second = await cache.compile(db, [recorded(architectureSampled('b', 1), 3)]);
    assert.equal(queries(), 0, 'batch 1 is not in the database yet: its rows must come from the cache');
    assert.match(second.script, /SET sample_count = 2/);
    await db.exec(first.script + second.script);
    // Two batches of another experiment later, the first experiment's rows have not been read for a while.
    for (const [i, event] of [experimentCreated('c'), architectureSampled('c', 0)].entries()) {
      const other = await cache.compile(db, [recorded(event, 4 + i)]);
      await db.exec(other.script);
      cache.committedUpTo(other.batch);
    }
    assert.equal(queries(), 0);
    const third = await cache.compile(db, [recorded(architectureSampled('b', 2), 6)]);
    assert.ok(queries() > 0, 'dropped rows are read from the database');
    assert.match(third.script, /SET sample_count = 3/);
  });
});

describe('applyEvents with a precompiled batch', () => {
  it('trusts the script only while the checkpoint is at its basis, and otherwise folds the batch again', async () => {
    const { db } = await readModels('basis.db');
    // At basis 0 the script (here: nothing) is the batch: the checkpoint moves, no row is written.
    assert.equal(await applyEvents(db, [recorded(experimentCreated('t'), 1)], { compiled: { basis: 0n, script: '' } }), 1n);
    assert.equal(await getExperiment(db, 't'), null);
    // A script made for another checkpoint is not run.
    const events = [recorded(experimentCreated('u'), 2)];
    assert.equal(await applyEvents(db, events, { compiled: { basis: 7n, script: 'DELETE FROM rm_checkpoints;' } }), 2n);
    assert.equal((await getExperiment(db, 'u'))?.status, 'created');
    // Nor is one that fails half way: nothing of it stays, and the batch is applied as it should be.
    const failing = "INSERT INTO rm_experiments (id) VALUES ('half');\nINSERT INTO nowhere VALUES (1);";
    const more = [recorded(architectureSampled('u', 0), 3)];
    assert.equal(await applyEvents(db, more, { compiled: { basis: 2n, script: failing } }), 3n);
    assert.equal(await getExperiment(db, 'half'), null);
    assert.equal((await getExperiment(db, 'u'))?.sampleCount, 1);
    assert.equal(await readCheckpoint(db), 3n);
  });
});

describe('the write script', () => {
  it('inserts new rows in one statement per table and updates only the columns that changed', () => {
    const sample = (id: string, over: Partial<SampleRow> = {}): SampleRow => ({
      sample_id: id,
      experiment_id: 'e',
      idx: 0,
      policy_version: 0,
      cell_hash: 'h',
      genotype: '{}',
      actions: '[]',
      log_prob: -1.5,
      entropy: 2,
      status: 'sampled',
      reward: null,
      reward_source: null,
      reused_from: null,
      sampled_at: 't0',
      finished_at: null,
      ...over,
    });
    const script = writeScript([
      { put: { table: 'rm_samples', row: sample('a') }, before: null },
      { put: { table: 'rm_samples', row: sample('b', { idx: 1 }) }, before: null },
      { put: { table: 'rm_samples', row: sample('c', { status: 'claimed' }) }, before: sample('c') },
      { put: { table: 'rm_samples', row: sample('d') }, before: sample('d') },
    ]);
    assert.equal(script.match(/^INSERT INTO rm_samples /gm)?.length, 1);
    assert.match(script, /VALUES \('a', .*\),\n\('b', /);
    assert.match(script, /^UPDATE rm_samples SET status = 'claimed' WHERE sample_id = 'c';$/m);
    assert.doesNotMatch(script, /'d'/);
  });
});

describe('readAhead', () => {
  it('hands out every item in order, and closes its source when the consumer stops early', async () => {
    let closed = false;
    async function* numbers() {
      try {
        for (let i = 0; i < 5; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const all: number[] = [];
    for await (const n of readAhead(numbers())) all.push(n);
    assert.deepEqual(all, [0, 1, 2, 3, 4]);
    closed = false;
    for await (const n of readAhead(numbers())) if (n === 1) break;
    assert.ok(closed);
  });
});
