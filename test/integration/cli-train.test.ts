import { DARTS_V2 } from '../../core/search-space/reference-cells.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newTransferId, resolveGenotypeSource } from '../../cli/resolve-source.ts';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { openSqliteStore, type SqliteEventStore } from '../../core/store/sqlite/sqlite-store.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';
import { simulateExperiment } from '../support/simulate.ts';

const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-cli-train-'));
after(() => rm(dir, { recursive: true, force: true }));

/** The smallest training that still runs every step: about 10 s here, most of it evaluation. */
const TINY = ['--N', '1', '--filters', '2', '--epochs', '1', '--max-train-examples', '64', '--backend', 'wasm', '--json'];

async function append(store: SqliteEventStore, events: RecordedEvent[]): Promise<void> {
  for (const { stream, revision, position: _p, ...event } of events) {
    await store.append(stream, [event as NasnetEvent], revision === 0n ? 'no_stream' : revision - 1n);
  }
}

async function transferEvents(path: string, transferId: string): Promise<RecordedEvent[]> {
  const store = await openSqliteStore(path);
  try {
    return (await store.readStream(`transfer-${transferId}`)).events;
  } finally {
    await store.close();
  }
}

describe('resolving --genotype', () => {
  const path = join(dir, 'searches.db');
  let store: SqliteEventStore;
  const searched = simulateExperiment({
    experimentId: 'cli',
    strategy: 'random',
    seed: 3,
    batches: 2,
    reward: targetSimilarity(NASNET_A),
    controller: { batchSize: 4 },
  });
  // Every reward ties; the first sample's is a failure, which never counts as best.
  const flat = simulateExperiment({
    experimentId: 'flat',
    strategy: 'random',
    seed: 4,
    batches: 1,
    reward: () => 0.5,
    controller: { batchSize: 4 },
  }).map((event) =>
    event.type === 'RewardReported' && event.data.sampleId === 'flat-0'
      ? { ...event, data: { ...event.data, reward: 0.9, source: 'failure' as const } }
      : event,
  );
  before(async () => {
    store = await openSqliteStore(path);
    await append(store, searched);
    await append(store, flat);
  });
  after(() => store.close());
  const opener = async () => store;

  it('takes the best trained sample of an experiment, ties to the lowest index', async () => {
    const rewards = searched.flatMap((event) => (event.type === 'RewardReported' ? [event.data] : []));
    const top = Math.max(...rewards.map((r) => r.reward));
    const bestId = rewards.find((r) => r.reward === top)!.sampleId;
    const sampled = searched.find((event) => event.type === 'ArchitectureSampled' && event.data.sampleId === bestId)!;
    const best = await resolveGenotypeSource('cli#best', opener);
    assert.equal(best.source, `cli#${bestId}`);
    assert.equal(best.reward, top);
    assert.deepEqual(best.genotype, sampled.type === 'ArchitectureSampled' ? sampled.data.genotype : null);
    assert.deepEqual(await resolveGenotypeSource('flat#best', opener).then((s) => [s.source, s.reward]), ['flat#flat-1', 0.5]);
  });

  it('takes a sample by id or index, and names the value when there is none', async () => {
    const third = searched.find((event) => event.type === 'ArchitectureSampled' && event.data.index === 3)!;
    const byId = await resolveGenotypeSource('cli#cli-3', opener);
    assert.equal(byId.source, 'cli#cli-3');
    assert.deepEqual(byId.genotype, third.type === 'ArchitectureSampled' ? third.data.genotype : null);
    assert.deepEqual((await resolveGenotypeSource('cli#3', opener)).genotype, byId.genotype);
    await assert.rejects(
      resolveGenotypeSource('cli#cli-99', opener),
      /^Error: --genotype "cli#cli-99": experiment "cli" has no sample "cli-99" \(8 sampled\)$/,
    );
    await assert.rejects(
      resolveGenotypeSource('nope#best', opener),
      /^Error: --genotype "nope#best": no experiment "nope" in the store$/,
    );
    await assert.rejects(resolveGenotypeSource('a b#best', opener), /--genotype "a b#best": experiment id "a b" is not valid/);
  });

  it('loads nasnet-a and files without opening the store', async () => {
    const never = async (): Promise<SqliteEventStore> => assert.fail('the store must not be opened');
    assert.deepEqual(await resolveGenotypeSource('nasnet-a', never), { source: 'nasnet-a', genotype: NASNET_A, reward: null });
    assert.deepEqual((await resolveGenotypeSource('darts-v2', never)).genotype, DARTS_V2);
    await assert.rejects(resolveGenotypeSource(join(dir, 'none.json'), never), /cannot read genotype file/);
  });

  it('makes transfer ids that sort by time', () => {
    assert.match(newTransferId(new Date('2026-03-04T05:06:07Z')), /^t-20260304-050607-[0-9a-f]{4}$/);
  });
});

describe('nasnet train', () => {
  it('records the training as a transfer stream: requested, progress per epoch, completed', async () => {
    const path = join(dir, 'train.db');
    const { stdout } = await run(NASNET, [
      'train',
      '--genotype',
      'nasnet-a',
      ...TINY,
      '--store',
      `sqlite:${path}`,
      '--transfer-id',
      'tiny-1',
    ]);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines[0], { transferId: 'tiny-1', source: 'nasnet-a', backend: 'wasm', device: 'CPU (WebAssembly SIMD)' });
    const { result } = lines.at(-1) as { result: Record<string, unknown> };

    const events = await transferEvents(path, 'tiny-1');
    assert.deepEqual(
      events.map((e) => e.type),
      ['TransferRequested', 'TransferProgressed', 'TransferCompleted'],
    );
    const [requested, progressed, completed] = events;
    assert.ok(
      requested?.type === 'TransferRequested' &&
        progressed?.type === 'TransferProgressed' &&
        completed?.type === 'TransferCompleted',
    );
    assert.equal(requested.data.source, 'nasnet-a');
    assert.deepEqual(requested.data.genotype, NASNET_A);
    // NASNet-A's normal cell concatenates 6 states: F = 4 × 6 × filters.
    assert.deepEqual([requested.data.N, requested.data.F, requested.data.dataset], [1, 48, 'fashion-mnist-mini']);
    assert.deepEqual(
      [
        requested.data.config['maxTrainExamples'],
        requested.data.config['epochs'],
        requested.data.config['filters'],
        requested.data.config['backend'],
      ],
      [64, 1, 2, 'wasm'],
    );
    assert.deepEqual([progressed.data.epoch, progressed.data.epochs], [1, 1]);
    assert.equal(completed.data.validationAccuracy, result['validationAccuracy']);
    assert.equal(completed.data.params, result['params']);
    // TINY trains on 64 images: all of them recalibrate batch norm (the default asks for 512)
    assert.deepEqual(completed.data.evaluation, { batchNorm: 'recalibrated', recalibrationImages: 64 });
    assert.equal(requested.data.config['batchNormRecalibration'], 512);
    assert.ok(events.every((e) => e.metadata.correlationId === 'tiny-1'));
    assert.equal(progressed.metadata.causationId, requested.id);

    // The same transfer id again is refused before anything is trained or written.
    await assert.rejects(
      run(NASNET, ['train', ...TINY, '--store', `sqlite:${path}`, '--transfer-id', 'tiny-1']),
      /--transfer-id "tiny-1": that transfer is already in the store/,
    );
    assert.equal((await transferEvents(path, 'tiny-1')).length, 3);
  });

  it('records a failed training and exits 1', async () => {
    const path = join(dir, 'failed.db');
    const empty = join(dir, 'empty-dataset');
    await mkdir(empty);
    await assert.rejects(
      run(NASNET, ['train', ...TINY, '--dataset', empty, '--store', `sqlite:${path}`, '--transfer-id', 'no-data']),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /holds no dataset/);
        return true;
      },
    );
    const events = await transferEvents(path, 'no-data');
    assert.deepEqual(
      events.map((e) => e.type),
      ['TransferRequested', 'TransferFailed'],
    );
    const failed = events[1]!;
    assert.ok(failed.type === 'TransferFailed');
    assert.match(failed.data.reason, /holds no dataset/);
    assert.equal(failed.data.retryable, false, 'a missing dataset is missing on every attempt');
  });

  it('refuses an unknown experiment in --genotype, naming it, and writes nothing', async () => {
    const path = join(dir, 'empty.db');
    await assert.rejects(
      run(NASNET, ['train', '--genotype', 'nope#best', ...TINY, '--store', `sqlite:${path}`]),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /--genotype "nope#best": no experiment "nope" in the store/);
        return true;
      },
    );
    const store = await openSqliteStore(path);
    try {
      assert.equal(await store.headPosition(), 0n);
    } finally {
      await store.close();
    }
  });
});
