import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { isEventType } from '../../core/events/catalogue.ts';
import type { EventOfType, NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { deterministicEventId } from '../../core/events/ids.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import { experimentStream, sampleId, transferStream, trialStream } from '../../core/events/streams.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { openStore } from '../../core/store/open-store.ts';
import type { EventStore } from '../../core/store/port.ts';
import { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import {
  bestCells,
  epochsForTrials,
  getExperiment,
  listExperiments,
  policyUpdates,
  rewardCurve,
  trialsForSamples,
  type Sample,
} from '../../core/projections/queries.ts';
import { InvalidCursorError, samplesPage, type SampleOrder } from '../../core/projections/sample-pages.ts';
import { foldEvents, lookupKey, type Entry as RowEntry } from '../../core/projections/batch-fold.ts';
import { projectEvent } from '../../core/projections/read-model-changes.ts';
import {
  isBetterCell,
  type BestCellRow,
  type ExperimentRow,
  type ReadModelView,
  type RowPut,
  type SampleRow,
  type TrialEpochRow,
  type TrialRow,
} from '../../core/projections/read-model-view.ts';
import {
  CheckpointMovedBackError,
  ProjectionError,
  applyEvents,
  catchUp,
  openReadModels,
  readCheckpoint,
  replay,
  runProjector,
} from '../../core/projections/sqlite-projector.ts';
import { architectureSampled, experimentCreated } from '../support/events.ts';
import { simulateExperiment } from '../support/simulate.ts';
import { dumpReadModels } from '../support/read-models.ts';

const dir = await mkdtemp(join(tmpdir(), 'nasnet-projections-'));
const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const handle of open.reverse()) await handle.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function newStore(name: string): Promise<EventStore> {
  const store = await openStore(`sqlite:${join(dir, name)}`);
  open.push(store);
  return store;
}

async function readModels(name: string): Promise<SqliteConnection> {
  const db = await openReadModels(join(dir, name));
  open.push(db);
  return db;
}

// ---- a realistic history ----------------------------------------------------------------------

interface Entry {
  stream: string;
  event: NasnetEvent;
}

const RESULT = {
  validationAccuracy: 0.5,
  testAccuracy: null,
  loss: 1.25,
  params: 120_000,
  multAdds: 9_000_000,
  seconds: 12.5,
  imagesPerSec: 800,
  backend: 'wasm',
};

function envelope<T extends NasnetEvent['type']>(
  experimentId: string,
  type: T,
  data: EventOfType<T>['data'],
  writerId: string,
  ...idParts: Array<string | number>
): EventOfType<T> {
  return {
    id: deterministicEventId(experimentId, type, ...idParts),
    type,
    version: 1,
    data,
    metadata: eventMetadata(experimentId, writerId),
  } as EventOfType<T>;
}

/** Builders of one sample's trial events. */
function trialEvents(experimentId: string, index: number) {
  const id = sampleId(experimentId, index);
  const lease = '2030-01-01T00:00:00.000Z';
  const claim = (attempt: number, workerId: string) =>
    envelope(
      experimentId,
      'TrialClaimed',
      { experimentId, sampleId: id, workerId, plugin: 'synthetic', backend: 'cpu', leaseDeadline: lease, attempt },
      workerId,
      ...[id, attempt, workerId],
    );
  const progress = (attempt: number, epoch: number) =>
    envelope(
      experimentId,
      'TrainingProgressed',
      { experimentId, sampleId: id, attempt, epoch, epochs: 2, metrics: { loss: 2 - epoch } },
      'w',
      ...[id, attempt, epoch],
    );
  const completed = (attempt: number) =>
    envelope(
      experimentId,
      'TrainingCompleted',
      { experimentId, sampleId: id, attempt, ...RESULT, validationAccuracy: (index % 10) / 10 },
      'w',
      id,
      attempt,
    );
  const failed = (attempt: number, retryable: boolean) =>
    envelope(
      experimentId,
      'TrainingFailed',
      { experimentId, sampleId: id, attempt, reason: 'loss became NaN', retryable },
      'w',
      id,
      attempt,
    );
  const released = (attempt: number, workerId: string) =>
    envelope(
      experimentId,
      'TrialReleased',
      { experimentId, sampleId: id, workerId, attempt, reason: 'SIGTERM' },
      workerId,
      id,
      attempt,
    );
  return { claim, progress, completed, failed, released };
}

/** What the runtime writes for one trial before its reward, varied by sample index. */
function trialLife(experimentId: string, index: number): Entry[] {
  const { claim, progress, completed, failed, released } = trialEvents(experimentId, index);
  const stream = trialStream(sampleId(experimentId, index));
  const events: NasnetEvent[][] = [
    [claim(1, 'w1'), progress(1, 0), progress(1, 1), completed(1)],
    [claim(1, 'w1'), failed(1, true), claim(2, 'w2'), completed(2)],
    [claim(1, 'w1'), released(1, 'w1'), claim(2, 'w2'), progress(2, 0), completed(2)],
    [claim(1, 'w2'), failed(1, false)],
    [],
  ];
  return events[index % 5]!.map((event) => ({ stream, event }));
}

/** Trials as index % 5 says; rewards of index % 5 == 3 are failures and of 4 reuse index - 4's. */
function withTrials(log: RecordedEvent[]): Entry[] {
  const entries: Entry[] = [];
  for (const recorded of log) {
    const { stream, revision: _r, position: _p, ...written } = recorded;
    const event = written as NasnetEvent;
    if (event.type === 'RewardReported') {
      const { experimentId } = event.data;
      const index = Number(event.data.sampleId.slice(experimentId.length + 1));
      entries.push(...trialLife(experimentId, index));
      if (index % 5 === 3) event.data = { ...event.data, source: 'failure' };
      if (index % 5 === 4)
        event.data = { ...event.data, source: 'reused', reusedFromSampleId: sampleId(experimentId, index - 4) };
    }
    entries.push({ stream, event });
  }
  return entries;
}

function similarity(genotype: typeof NASNET_A): number {
  let same = 0;
  for (const cell of ['normal', 'reduction'] as const) {
    genotype[cell].forEach((block, k) => block.forEach((field, f) => (same += field === NASNET_A[cell][k]![f] ? 1 : 0)));
  }
  return Math.round((same / 50) * 100) / 100;
}

let historyOnce: Entry[] | undefined;

/** The same log for every test (the controller's simulation takes a while): never mutated. */
function history(): Entry[] {
  historyOnce ??= buildHistory();
  return historyOnce;
}

function buildHistory(): Entry[] {
  const controller = { batchSize: 5, ppoEpochs: 2 };
  const ppo = withTrials(
    simulateExperiment({ experimentId: 'proj', strategy: 'ppo', seed: 5, batches: 3, reward: similarity, controller }),
  );
  const random = withTrials(
    simulateExperiment({ experimentId: 'rnd', strategy: 'random', seed: 2, batches: 2, reward: similarity, controller }),
  );
  const entries: Entry[] = [];
  // The two experiments interleave, as two controllers writing to one store would.
  for (let i = 0; i < Math.max(ppo.length, random.length); i++) {
    if (ppo[i]) entries.push(ppo[i]!);
    if (random[i]) entries.push(random[i]!);
  }
  // A sample still in training: no reward yet.
  const inFlight = architectureSampled('proj', 15);
  entries.push({ stream: experimentStream('proj'), event: inFlight });
  entries.push(...trialLife('proj', 15).slice(0, 3));
  // Its lease lapses: another worker takes it over, and then the first one reports late.
  const takeover = trialEvents('proj', 15);
  entries.push(
    { stream: trialStream('proj-15'), event: takeover.claim(2, 'w3') },
    { stream: trialStream('proj-15'), event: takeover.progress(1, 2) },
  );
  entries.push({
    stream: experimentStream('proj'),
    event: envelope('proj', 'ExperimentStopped', { experimentId: 'proj', reason: 'SIGINT', samples: 16 }, 'ctl'),
  });
  if (isEventType('ExperimentResumed')) {
    // Built loosely: this type joins the catalogue in a change of its own.
    const resumed = {
      id: deterministicEventId('proj', 'ExperimentResumed'),
      type: 'ExperimentResumed',
      version: 1,
      data: { experimentId: 'proj', samples: 16, writerId: 'host/1' },
      metadata: eventMetadata('proj', 'ctl'),
    };
    entries.push({ stream: experimentStream('proj'), event: resumed as unknown as NasnetEvent });
  }
  entries.push({
    stream: experimentStream('rnd'),
    event: envelope(
      'rnd',
      'ExperimentCompleted',
      { experimentId: 'rnd', samples: 10, completed: 8, failed: 2, bestSampleId: null, bestReward: null },
      'ctl',
    ),
  });
  const transfer = (transferId: string, type: NasnetEvent['type'], data: NasnetEvent['data']): Entry => ({
    stream: transferStream(transferId),
    event: {
      id: deterministicEventId(transferId, type),
      type,
      version: 1,
      data,
      metadata: eventMetadata(transferId, 'tr'),
    } as NasnetEvent,
  });
  entries.push(
    transfer('tA', 'TransferRequested', {
      transferId: 'tA',
      source: 'nasnet-a',
      genotype: NASNET_A,
      N: 4,
      F: 44,
      dataset: 'cifar10',
      config: { epochs: 3 },
    }),
    transfer('tA', 'TransferProgressed', { transferId: 'tA', epoch: 1, epochs: 3, metrics: { loss: 1 } }),
    transfer('tA', 'TransferCompleted', { transferId: 'tA', ...RESULT }),
    transfer('tB', 'TransferRequested', {
      transferId: 'tB',
      source: 'proj#proj-0',
      genotype: NASNET_A,
      N: 2,
      F: 32,
      dataset: 'fashion-mnist',
      config: {},
    }),
    transfer('tB', 'TransferFailed', { transferId: 'tB', reason: 'out of memory', retryable: true }),
  );
  return entries;
}

/** Appends entries in order, one append per run of events of the same stream. */
async function appendAll(store: EventStore, entries: readonly Entry[]): Promise<void> {
  for (let i = 0; i < entries.length; ) {
    const stream = entries[i]!.stream;
    const run: NasnetEvent[] = [];
    while (i < entries.length && entries[i]!.stream === stream) run.push(entries[i++]!.event);
    await store.append(stream, run, 'any');
  }
}

const dump = dumpReadModels;

function recorded<E extends NasnetEvent>(event: E, position: number, stream = 'x-1'): RecordedEvent {
  return { ...event, stream, revision: 0n, position: BigInt(position) } as RecordedEvent;
}

// ---- (a) the evolve ---------------------------------------------------------------------------

/** A view of the given rows, answering as the database would. */
function given(rows: {
  experiments?: ExperimentRow[];
  samples?: SampleRow[];
  trials?: TrialRow[];
  epochs?: TrialEpochRow[];
  cells?: BestCellRow[];
}): ReadModelView {
  const cells = (experimentId: string) => (rows.cells ?? []).filter((c) => c.experiment_id === experimentId);
  return {
    experiment: (id) => rows.experiments?.find((e) => e.id === id),
    sample: (id) => rows.samples?.find((s) => s.sample_id === id),
    trials: (id) => (rows.trials ?? []).filter((t) => t.sample_id === id).sort((a, b) => a.attempt - b.attempt),
    trialEpoch: (id, attempt, epoch) =>
      rows.epochs?.find((e) => e.sample_id === id && e.attempt === attempt && e.epoch === epoch),
    policyUpdate: () => undefined,
    transfer: () => undefined,
    bestCell: (experimentId, cellHash) => cells(experimentId).find((c) => c.cell_hash === cellHash),
    topCell: (experimentId) =>
      cells(experimentId).reduce<BestCellRow | undefined>((top, c) => (isBetterCell(c, top) ? c : top), undefined),
  };
}

const nothing = given({});
const experimentRow = (over: Partial<ExperimentRow> = {}): ExperimentRow => ({
  ...(projectEvent(nothing, recorded(experimentCreated('e1'), 1))[0]!.row as ExperimentRow),
  ...over,
});
const sampleRow = (index: number, over: Partial<SampleRow> = {}): SampleRow => ({
  ...(projectEvent(nothing, recorded(architectureSampled('e1', index), 2))[0]!.row as SampleRow),
  ...over,
});
const trialRow = (index: number, attempt: number, over: Partial<TrialRow> = {}): TrialRow => ({
  ...(projectEvent(nothing, recorded(trialEvents('e1', index).claim(attempt, 'w'), 3))[0]!.row as TrialRow),
  ...over,
});
const tables = (puts: readonly RowPut[]) => puts.map((p) => p.table);
const rowOf = <T extends RowPut['table']>(puts: readonly RowPut[], table: T) =>
  puts.find((p) => p.table === table)?.row as Extract<RowPut, { table: T }>['row'];

function reward(index: number, value: number, source: 'trained' | 'reused' | 'failure') {
  const data = {
    experimentId: 'e1',
    sampleId: sampleId('e1', index),
    reward: value,
    source,
    reusedFromSampleId: source === 'reused' ? 'e1-0' : null,
  };
  return recorded(envelope('e1', 'RewardReported', data, 'w', index), 9);
}

describe('projectEvent', () => {
  it('inserts a sample and counts it on its experiment; a sample already there is only counted', () => {
    const event = recorded(architectureSampled('e1', 3), 7);
    const puts = projectEvent(given({ experiments: [experimentRow({ sample_count: 2 })] }), event);
    assert.deepEqual(tables(puts), ['rm_samples', 'rm_experiments']);
    const sample = rowOf(puts, 'rm_samples');
    assert.equal(sample.sample_id, 'e1-3');
    assert.equal(sample.idx, 3);
    assert.equal(sample.status, 'sampled');
    assert.equal(sample.sampled_at, event.metadata.timestamp);
    assert.deepEqual(JSON.parse(sample.genotype), event.type === 'ArchitectureSampled' ? event.data.genotype : null);
    assert.equal(rowOf(puts, 'rm_experiments').sample_count, 3);
    assert.equal(rowOf(puts, 'rm_experiments').updated_at, event.metadata.timestamp);
    const again = projectEvent(given({ experiments: [experimentRow()], samples: [sampleRow(3)] }), event);
    assert.deepEqual(tables(again), ['rm_experiments']);
  });

  it('counts a failure reward as failed and leaves the best cells alone', () => {
    const view = given({ experiments: [experimentRow({ completed_count: 4 })], samples: [sampleRow(2, { status: 'training' })] });
    const puts = projectEvent(view, reward(2, 0, 'failure'));
    assert.deepEqual(tables(puts), ['rm_samples', 'rm_experiments']);
    assert.equal(rowOf(puts, 'rm_samples').status, 'failed');
    assert.equal(rowOf(puts, 'rm_samples').reward_source, 'failure');
    assert.equal(rowOf(puts, 'rm_experiments').failed_count, 1);
    assert.equal(rowOf(puts, 'rm_experiments').completed_count, 4);
  });

  it('files a trained or reused reward under its cell; the experiment best is the best cell, ties to the lowest index', () => {
    const sample = sampleRow(4);
    const cell = (index: number, value: number, hash = `h${index}`): BestCellRow => ({
      experiment_id: 'e1',
      cell_hash: hash,
      sample_id: sampleId('e1', index),
      reward: value,
      idx: index,
    });
    for (const source of ['trained', 'reused'] as const) {
      const first = projectEvent(given({ experiments: [experimentRow()], samples: [sample] }), reward(4, 0.7, source));
      assert.deepEqual(tables(first), ['rm_samples', 'rm_best_cells', 'rm_experiments']);
      assert.equal(rowOf(first, 'rm_samples').status, source === 'trained' ? 'completed' : 'reused');
      assert.equal(rowOf(first, 'rm_samples').reused_from, source === 'reused' ? 'e1-0' : null);
      assert.deepEqual(rowOf(first, 'rm_best_cells'), cell(4, 0.7, sample.cell_hash));
      assert.deepEqual(
        [
          rowOf(first, 'rm_experiments').completed_count,
          rowOf(first, 'rm_experiments').best_reward,
          rowOf(first, 'rm_experiments').best_sample_id,
        ],
        [1, 0.7, 'e1-4'],
      );
    }
    const best = (cells: BestCellRow[]) => {
      const puts = projectEvent(given({ experiments: [experimentRow()], samples: [sample], cells }), reward(4, 0.7, 'trained'));
      return [rowOf(puts, 'rm_experiments').best_sample_id, tables(puts).includes('rm_best_cells')];
    };
    assert.deepEqual(best([cell(1, 0.9)]), ['e1-1', true]);
    assert.deepEqual(best([cell(1, 0.5)]), ['e1-4', true]);
    assert.deepEqual(best([cell(1, 0.7)]), ['e1-1', true]);
    assert.deepEqual(best([cell(6, 0.7)]), ['e1-4', true]);
    // The same cell sampled earlier with a higher reward keeps its place.
    assert.deepEqual(best([cell(2, 0.8, sample.cell_hash)]), ['e1-2', false]);
    // Without its ArchitectureSampled a sample has no cell to be filed under.
    const orphan = projectEvent(given({ experiments: [experimentRow()] }), reward(4, 0.7, 'trained'));
    assert.deepEqual(tables(orphan), ['rm_experiments']);
    assert.equal(rowOf(orphan, 'rm_experiments').best_reward, null);
  });

  it('moves a sample with its newest trial, and not after its reward; a retryable failure leaves it be', () => {
    const { claim, progress, failed } = trialEvents('e1', 0);
    const claimed = projectEvent(given({ samples: [sampleRow(0)] }), recorded(claim(1, 'w'), 3));
    assert.deepEqual(tables(claimed), ['rm_trials', 'rm_samples']);
    assert.equal(rowOf(claimed, 'rm_trials').status, 'claimed');
    assert.equal(rowOf(claimed, 'rm_samples').status, 'claimed');
    // A second attempt also closes the first if it is still open (its lease ran out).
    const takeover = projectEvent(given({ samples: [sampleRow(0)], trials: [trialRow(0, 1)] }), recorded(claim(2, 'v'), 5));
    assert.deepEqual(
      takeover.map((p) => [p.table, (p.row as TrialRow | SampleRow).status]),
      [
        ['rm_trials', 'released'],
        ['rm_trials', 'claimed'],
        ['rm_samples', 'claimed'],
      ],
    );
    const late = projectEvent(
      given({ samples: [sampleRow(0, { status: 'claimed' })], trials: [trialRow(0, 1), trialRow(0, 2)] }),
      recorded(progress(1, 1), 6),
    );
    assert.deepEqual(tables(late), ['rm_trials', 'rm_trial_epochs']);
    const rewarded = given({ samples: [sampleRow(0, { status: 'completed', reward_source: 'trained' })] });
    assert.deepEqual(tables(projectEvent(rewarded, recorded(claim(3, 'w'), 7))), ['rm_trials']);
    const open = given({ samples: [sampleRow(0, { status: 'training' })], trials: [trialRow(0, 1)] });
    assert.deepEqual(tables(projectEvent(open, recorded(failed(1, true), 4))), ['rm_trials']);
    const final = projectEvent(open, recorded(failed(1, false), 4));
    assert.deepEqual(
      final.map((p) => [p.table, (p.row as TrialRow | SampleRow).status]),
      [
        ['rm_trials', 'failed'],
        ['rm_samples', 'failed'],
      ],
    );
  });

  it('keeps an epoch its measured metrics: a heartbeat adds no row, a later report replaces only empty metrics', () => {
    const { progress } = trialEvents('e1', 0);
    const open = { samples: [sampleRow(0, { status: 'training' })], trials: [trialRow(0, 1, { status: 'training' })] };
    assert.deepEqual(tables(projectEvent(given(open), recorded(progress(1, 0), 4))), ['rm_trials']);
    const epoch = rowOf(projectEvent(given(open), recorded(progress(1, 1), 4)), 'rm_trial_epochs');
    assert.equal(epoch.metrics, JSON.stringify({ loss: 1 }));
    const again = recorded(progress(1, 1), 5);
    assert.deepEqual(tables(projectEvent(given({ ...open, epochs: [epoch] }), again)), ['rm_trials']);
    const empty = { ...epoch, metrics: '{}' };
    assert.equal(rowOf(projectEvent(given({ ...open, epochs: [empty] }), again), 'rm_trial_epochs').metrics, epoch.metrics);
  });

  it('sets the experiment status from created, completed, stopped and resumed', () => {
    const status = (event: NasnetEvent, view = given({ experiments: [experimentRow({ status: 'running' })] })) =>
      rowOf(projectEvent(view, recorded(event, 1)), 'rm_experiments')?.status;
    assert.equal(status(experimentCreated('e1'), nothing), 'created');
    assert.equal(status(experimentCreated('e1')), undefined);
    assert.equal(
      status(
        envelope(
          'e1',
          'ExperimentCompleted',
          { experimentId: 'e1', samples: 1, completed: 1, failed: 0, bestSampleId: null, bestReward: null },
          'c',
        ),
      ),
      'completed',
    );
    assert.equal(
      status(envelope('e1', 'ExperimentStopped', { experimentId: 'e1', reason: 'SIGINT', samples: 1 }, 'c')),
      'stopped',
    );
    const resumed = {
      ...experimentCreated('e1'),
      type: 'ExperimentResumed',
      data: { experimentId: 'e1', samples: 1, writerId: 'h/1' },
    } as unknown as NasnetEvent;
    assert.equal(status(resumed, given({ experiments: [experimentRow({ status: 'stopped' })] })), 'running');
    assert.deepEqual(
      projectEvent(nothing, { ...recorded(experimentCreated('e1'), 1), type: 'SomethingNew' } as unknown as RecordedEvent),
      [],
    );
  });
});

describe('foldEvents', () => {
  const life = (): RecordedEvent[] => {
    const { claim, progress, completed } = trialEvents('e1', 0);
    const events = [architectureSampled('e1', 0), claim(1, 'w'), progress(1, 1), progress(1, 2), completed(1)];
    return [...events.map((e, i) => recorded(e, i + 2)), { ...reward(0, 0.6, 'trained'), position: 7n }];
  };
  const sourceOf =
    (entries: ReadonlyMap<string, RowEntry>) =>
    (key: string): RowEntry =>
      entries.get(key) ?? (key.startsWith('t\u0000') ? [] : null);

  it('writes each row the batch changes once, in its final state, beside the row it replaces', () => {
    const experiment = experimentRow();
    const source = sourceOf(new Map<string, RowEntry>([[lookupKey({ kind: 'experiment', id: 'e1' }), experiment]]));
    const folded = foldEvents(life(), source);
    const writes = [...folded.writes.values()];
    const misses = folded.misses;
    assert.equal(misses.size, 0);
    assert.deepEqual(
      writes.map((w) => [w.put.table, w.before === null]),
      [
        ['rm_samples', true],
        ['rm_experiments', false],
        ['rm_trials', true],
        ['rm_trial_epochs', true],
        ['rm_trial_epochs', true],
        ['rm_best_cells', true],
      ],
    );
    assert.equal(writes[1]!.before, experiment);
    assert.deepEqual(
      [
        (writes[0]!.put.row as SampleRow).status,
        (writes[0]!.put.row as SampleRow).reward,
        (writes[2]!.put.row as TrialRow).status,
      ],
      ['completed', 0.6, 'completed'],
    );
    const after = writes[1]!.put.row as ExperimentRow;
    assert.deepEqual([after.sample_count, after.completed_count, after.best_sample_id], [1, 1, 'e1-0']);
  });

  it('names every lookup its source cannot answer, and folds the same as event by event once they are known', () => {
    const events = life();
    const { misses } = foldEvents(events, () => undefined);
    assert.deepEqual(
      [...misses.values()].map((l) => l.kind).sort(),
      ['cell', 'experiment', 'sample', 'topCell', 'trials', 'epoch', 'epoch'].sort(),
    );
    // Event by event, each fold reading what the ones before wrote.
    const experiment = experimentRow();
    const known = new Map<string, RowEntry>([[lookupKey({ kind: 'experiment', id: 'e1' }), experiment]]);
    for (const event of events) for (const [key, entry] of foldEvents([event], sourceOf(known)).entries) known.set(key, entry);
    const whole = foldEvents(
      events,
      sourceOf(new Map<string, RowEntry>([[lookupKey({ kind: 'experiment', id: 'e1' }), experiment]])),
    );
    for (const [key, entry] of whole.entries) assert.deepEqual(entry, known.get(key), key);
  });

  it('names the event whose projection throws', () => {
    const broken = { ...recorded(architectureSampled('e1', 0), 4), data: null } as unknown as RecordedEvent;
    assert.throws(
      () => foldEvents([broken], () => null),
      (error: unknown) => error instanceof ProjectionError && error.position === 4n && /ArchitectureSampled/.test(error.message),
    );
  });
});

describe('applyEvents', () => {
  it('skips events at or below the checkpoint and refuses a batch read past a checkpoint that moved back', async () => {
    const db = await readModels('apply.db');
    const events = [experimentCreated('ap'), architectureSampled('ap', 0), architectureSampled('ap', 1)].map((e, i) =>
      recorded(e, i + 1),
    );
    assert.equal(await applyEvents(db, events.slice(0, 2)), 2n);
    assert.equal(await applyEvents(db, events), 3n);
    assert.equal(await applyEvents(db, events), 3n);
    assert.equal((await getExperiment(db, 'ap'))!.sampleCount, 2);
    assert.equal(await readCheckpoint(db), 3n);
    await assert.rejects(applyEvents(db, [recorded(architectureSampled('ap', 2), 9)], { after: 8n }), CheckpointMovedBackError);
    assert.equal((await getExperiment(db, 'ap'))!.sampleCount, 2);
  });

  it('applies a batch all or nothing, and names the event it cannot project', async () => {
    const db = await readModels('apply-bad.db');
    const good = recorded(experimentCreated('bad'), 1);
    const sampled = architectureSampled('bad', 0);
    // Past the store's validation only by hand: a sample without its cell hash.
    const broken = recorded({ ...sampled, data: { ...sampled.data, cellHash: undefined } } as unknown as NasnetEvent, 2);
    await assert.rejects(applyEvents(db, [good, broken]), (error: unknown) => {
      assert.ok(error instanceof ProjectionError);
      assert.equal(error.position, 2n);
      assert.match(
        error.message,
        /^cannot project ArchitectureSampled at position 2: .*NOT NULL constraint failed: rm_samples\.cell_hash/,
      );
      return true;
    });
    assert.equal(await readCheckpoint(db), 0n);
    assert.deepEqual(await listExperiments(db), []);
  });

  it('keeps positions beyond 64 bits exactly (EventStoreDB encodes commit and prepare in 128)', async () => {
    const db = await readModels('apply-esdb.db');
    const big = (1n << 100n) + 12345n;
    assert.equal(
      await applyEvents(
        db,
        [recorded(experimentCreated('big'), 0)].map((e) => ({ ...e, position: big })),
      ),
      big,
    );
    assert.equal(await readCheckpoint(db), big);
    assert.equal(await applyEvents(db, [{ ...recorded(architectureSampled('big', 0), 0), position: big + 1n }]), big + 1n);
    assert.equal((await getExperiment(db, 'big'))!.sampleCount, 1);
  });
});

// ---- (b) replay equals live -------------------------------------------------------------------

describe('projector', () => {
  it('builds the same read models live, by replay and by catching up a fresh file', async () => {
    const store = await newStore('live.db');
    const db = await readModels('live.db');
    const projector = runProjector(store, db, { batchSize: 40 });
    const entries = history();
    const third = Math.floor(entries.length / 3);
    await appendAll(store, entries.slice(0, third));
    await projector.caughtUp();
    const partial = await getExperiment(db, 'proj');
    assert.ok(partial && partial.sampleCount > 0 && partial.sampleCount < 16);
    await appendAll(store, entries.slice(third, 2 * third));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await appendAll(store, entries.slice(2 * third));
    await projector.caughtUp();
    const head = await store.headPosition();
    assert.equal(projector.position(), head);
    assert.equal(BigInt(entries.length), head);
    await projector.stop();

    const live = await dump(db);
    await checkContent(db, live);

    assert.equal(await replay(store, db), head);
    assert.deepEqual(await dump(db), live);

    const fresh = await readModels('fresh.db');
    assert.equal(await catchUp(store, fresh, { batchSize: 7 }), head);
    assert.deepEqual(await dump(fresh), live);

    // One event per transaction: every change applied, none folded into a later one of its batch.
    const oneByOne = await readModels('one-by-one.db');
    assert.equal(await catchUp(store, oneByOne, { batchSize: 1 }), head);
    assert.deepEqual(await dump(oneByOne), live);
    const whole = await readModels('whole.db');
    assert.equal(await catchUp(store, whole, { batchSize: 100_000 }), head);
    assert.deepEqual(await dump(whole), live);
  });

  it('starts on a backlog, stops between transactions and resumes from its checkpoint', async () => {
    const store = await newStore('backlog.db');
    await appendAll(store, history());
    const head = await store.headPosition();
    const db = await readModels('backlog.db');
    const first = runProjector(store, db, { batchSize: 5 });
    while (first.position() === 0n) await new Promise((resolve) => setImmediate(resolve));
    await first.stop();
    const stoppedAt = await readCheckpoint(db);
    assert.equal(first.position(), stoppedAt);
    assert.ok(stoppedAt > 0n && stoppedAt < head, `stopped at ${stoppedAt}, within the backlog of ${head}`);
    const second = runProjector(store, db, { batchSize: 50 });
    await second.caughtUp();
    await second.stop();
    const fresh = await readModels('backlog-fresh.db');
    await catchUp(store, fresh);
    assert.deepEqual(await dump(db), await dump(fresh));
  });

  it('two projectors on one file, and a replay under them, apply every event once', async () => {
    const store = await newStore('shared.db');
    const [db1, db2, db3] = [await readModels('shared.db'), await readModels('shared.db'), await readModels('shared.db')];
    const p1 = runProjector(store, db1, { batchSize: 3, batchMs: 1 });
    const p2 = runProjector(store, db2, { batchSize: 5, batchMs: 2 });
    const entries = history();
    const half = Math.floor(entries.length / 2);
    await Promise.all([appendAll(store, entries.slice(0, half)), catchUp(store, db3, { batchSize: 4 })]);
    // A rebuild while both are projecting: they must notice and read again from its checkpoint.
    await Promise.all([appendAll(store, entries.slice(half)), replay(store, db3, { batchSize: 6 })]);
    await Promise.all([p1.caughtUp(), p2.caughtUp()]);
    await Promise.all([p1.stop(), p2.stop()]);
    const head = await store.headPosition();
    assert.equal(await readCheckpoint(db1), head);

    const counts = await db1.all<{
      id: string;
      sample_count: number;
      samples: number;
      completed_count: number;
      completed: number;
      failed_count: number;
      failed: number;
    }>(
      `SELECT e.id, e.sample_count, e.completed_count, e.failed_count,
              (SELECT count(*) FROM rm_samples s WHERE s.experiment_id = e.id) AS samples,
              (SELECT count(*) FROM rm_samples s WHERE s.experiment_id = e.id AND s.reward_source IN ('trained', 'reused')) AS completed,
              (SELECT count(*) FROM rm_samples s WHERE s.experiment_id = e.id AND s.reward_source = 'failure') AS failed
         FROM rm_experiments e ORDER BY e.id`,
    );
    assert.deepEqual(
      counts.map((c) => [c.id, c.sample_count, c.completed_count, c.failed_count]),
      [
        ['proj', 16, 12, 3],
        ['rnd', 10, 8, 2],
      ],
    );
    for (const c of counts)
      assert.deepEqual([c.sample_count, c.completed_count, c.failed_count], [c.samples, c.completed, c.failed]);

    const fresh = await readModels('shared-fresh.db');
    await catchUp(store, fresh);
    assert.deepEqual(await dump(db1), await dump(fresh));
  });

  it('a projector in another process and one here share the store file, each event applied once', async () => {
    const path = join(dir, 'processes.db');
    const store = await newStore('processes.db');
    const db = await readModels('processes.db');
    const child = projectorProcess(path, 3);
    await child.ready;
    const here = runProjector(store, db, { batchSize: 5, batchMs: 1 });
    await appendAll(store, history());
    const head = await store.headPosition();
    const [out] = await Promise.all([child.finish(), here.caughtUp()]);
    await here.stop();
    assert.match(out, new RegExp(`caught-up ${head}\\b`));
    const fresh = await readModels('processes-fresh.db');
    await catchUp(store, fresh);
    assert.deepEqual(await dump(db), await dump(fresh));
    assert.equal((await getExperiment(db, 'proj'))!.sampleCount, 16);
  });
});

/**
 * A projector in another process, following `path` until told `done` on stdin; it prints
 * `ready` once it follows the log and `caught-up <position>` before it exits.
 */
function projectorProcess(path: string, batchSize: number) {
  const module = (file: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, '../..', file)).href);
  const script = `
    const { openStore } = await import(${module('core/store/open-store.ts')});
    const { openReadModels, runProjector } = await import(${module('core/projections/sqlite-projector.ts')});
    const { createInterface } = await import('node:readline');
    const store = await openStore(${JSON.stringify(`sqlite:${path}`)});
    const db = await openReadModels(${JSON.stringify(path)});
    const projector = runProjector(store, db, { batchSize: ${batchSize}, batchMs: 1 });
    console.log('ready');
    for await (const line of createInterface({ input: process.stdin })) if (line === 'done') break;
    await projector.caughtUp();
    console.log('caught-up ' + projector.position());
    await projector.stop();
    await db.close();
    await store.close();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    }),
  );
  const exited = new Promise<string>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`projector process exited with ${code}`)))),
  );
  return { ready, finish: () => (child.stdin.end('done\n'), exited) };
}

/** What the live dump must say about the history, beyond equalling the replay. */
async function checkContent(db: SqliteConnection, tables: Record<string, unknown[]>): Promise<void> {
  const experiments = await listExperiments(db);
  assert.deepEqual(
    experiments.map((e) => [e.id, e.status, e.sampleCount, e.completedCount, e.failedCount, e.policyVersion, e.strategy]),
    [
      ['proj', isEventType('ExperimentResumed') ? 'running' : 'stopped', 16, 12, 3, 3, 'ppo'],
      ['rnd', 'completed', 10, 8, 2, 2, 'random'],
    ],
  );
  const proj = experiments.find((e) => e.id === 'proj')!;
  assert.deepEqual(proj.config, { strategy: 'ppo', controller: { batchSize: 5, ppoEpochs: 2 } });

  // The best is the highest non-failure reward, ties to the lowest index.
  const all: Sample[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof samplesPage>> = await samplesPage(db, 'proj', {
      first: 100,
      after: cursor,
      orderBy: 'INDEX',
    });
    all.push(...page.rows);
    cursor = page.hasNextPage ? page.endCursor : null;
  } while (cursor);
  const rewarded = all.filter((s) => s.rewardSource === 'trained' || s.rewardSource === 'reused');
  const best = [...rewarded].sort((a, b) => b.reward! - a.reward! || a.index - b.index)[0]!;
  assert.equal(proj.bestSampleId, best.sampleId);
  assert.equal(proj.bestReward, best.reward);
  assert.equal((await bestCells(db, 'proj', 1))[0]!.sampleId, best.sampleId);

  const status = (index: number) => all.find((s) => s.index === index)!.status;
  assert.deepEqual([0, 1, 2, 3, 4, 15].map(status), ['completed', 'completed', 'completed', 'failed', 'reused', 'claimed']);
  assert.equal(all.find((s) => s.index === 4)!.reusedFrom, 'proj-0');
  assert.equal(all.find((s) => s.index === 15)!.reward, null);

  const trials = await trialsForSamples(db, ['proj-0', 'proj-1', 'proj-2', 'proj-3', 'proj-4', 'proj-15', 'nope']);
  const brief = (id: string) => trials.get(id)!.map((t) => [t.attempt, t.status, t.workerId, t.retryable, t.lastEpoch]);
  assert.deepEqual(brief('proj-0'), [[1, 'completed', 'w1', null, 1]]);
  assert.deepEqual(brief('proj-1'), [
    [1, 'failed', 'w1', true, null],
    [2, 'completed', 'w2', null, null],
  ]);
  assert.deepEqual(brief('proj-2'), [
    [1, 'released', 'w1', null, null],
    [2, 'completed', 'w2', null, 0],
  ]);
  assert.deepEqual(brief('proj-3'), [[1, 'failed', 'w2', false, null]]);
  assert.deepEqual(brief('proj-4'), []);
  assert.deepEqual(brief('proj-15'), [
    [1, 'released', 'w1', null, 2],
    [2, 'claimed', 'w3', null, null],
  ]);
  assert.deepEqual(brief('nope'), []);
  assert.equal(trials.get('proj-0')![0]!.validationAccuracy, 0);
  assert.equal(trials.get('proj-0')![0]!.params, RESULT.params);

  const updates = await policyUpdates(db, 'proj');
  assert.deepEqual(
    updates.map((u) => u.version),
    [1, 2, 3],
  );
  assert.equal(updates[0]!.sampleIds.length, 5);
  assert.ok(updates[0]!.stats && updates[0]!.stats.epochs === 2);
  assert.equal((await policyUpdates(db, 'rnd'))[0]!.stats, null);
  const curve = await rewardCurve(db, 'proj');
  assert.deepEqual(
    curve.samples.map((s) => s.index),
    [...Array(15).keys()],
  );
  assert.deepEqual(
    curve.updates.map((u) => u.meanReward),
    updates.map((u) => u.meanReward),
  );
  assert.equal(curve.updates[0]!.baselineBefore, null);

  const transfers = tables.rm_transfers as Array<{ transfer_id: string; status: string; n: number; last_epoch: number | null }>;
  assert.deepEqual(
    transfers.map((t) => [t.transfer_id, t.status, t.n, t.last_epoch]),
    [
      ['tA', 'completed', 4, 1],
      ['tB', 'failed', 2, null],
    ],
  );
}

// ---- (d), (e) pagination and best cells ---------------------------------------------------------

describe('queries', async () => {
  // 40 samples with many tied rewards, every 6th without one, and 9 distinct cell hashes.
  const experimentId = 'pg';
  const reward = (i: number): number | null =>
    i % 6 === 5 ? null : [0.5, 0.25, 0.75, 0.5, 0.25][i % 5]! + (i % 7 === 0 ? 0.125 : 0);
  const entries: Entry[] = [{ stream: experimentStream(experimentId), event: experimentCreated(experimentId) }];
  for (let i = 0; i < 40; i++) {
    const sampled = architectureSampled(experimentId, i);
    entries.push({
      stream: experimentStream(experimentId),
      event: { ...sampled, data: { ...sampled.data, cellHash: `h${i % 9}` } },
    });
  }
  for (let i = 39; i >= 0; i--) {
    const value = reward(i);
    if (value === null) continue;
    const id = sampleId(experimentId, i);
    entries.push({
      stream: trialStream(id),
      event: envelope(
        experimentId,
        'RewardReported',
        { experimentId, sampleId: id, reward: value, source: i === 39 ? 'failure' : 'trained', reusedFromSampleId: null },
        'w',
        id,
      ),
    });
  }
  const store = await newStore('queries.db');
  await appendAll(store, entries);
  const db = await readModels('queries.db');
  await catchUp(store, db);

  const expected = (orderBy: SampleOrder): number[] => {
    const indexes = [...Array(40).keys()];
    if (orderBy === 'INDEX') return indexes;
    const r = (i: number) => reward(i) ?? Number.NEGATIVE_INFINITY;
    return indexes.sort((a, b) => r(b) - r(a) || a - b);
  };

  it('pages through every sample exactly once, in both orders, at several page sizes', async () => {
    for (const orderBy of ['INDEX', 'REWARD_DESC'] as const) {
      for (const first of [1, 3, 7, 40, 100]) {
        const seen: number[] = [];
        let after: string | null = null;
        let pages = 0;
        for (;;) {
          const page: Awaited<ReturnType<typeof samplesPage>> = await samplesPage(db, experimentId, { first, after, orderBy });
          pages++;
          assert.ok(page.rows.length <= first);
          seen.push(...page.rows.map((s) => s.index));
          if (!page.hasNextPage) break;
          after = page.endCursor;
        }
        assert.deepEqual(seen, expected(orderBy), `${orderBy} by ${first}`);
        assert.equal(pages, Math.max(1, Math.ceil(40 / first)));
      }
    }
    const empty = await samplesPage(db, 'none', { first: 5, orderBy: 'INDEX' });
    assert.deepEqual(empty, { rows: [], hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  it('refuses a cursor of another order or none at all', async () => {
    const page = await samplesPage(db, experimentId, { first: 2, orderBy: 'INDEX' });
    await assert.rejects(
      samplesPage(db, experimentId, { first: 2, after: page.endCursor, orderBy: 'REWARD_DESC' }),
      InvalidCursorError,
    );
    await assert.rejects(samplesPage(db, experimentId, { first: 2, after: 'bm9wZQ', orderBy: 'INDEX' }), InvalidCursorError);
  });

  it('lists the best cells distinct by hash, ties to the lowest index, failures left out', async () => {
    const best = new Map<string, { index: number; reward: number }>();
    for (let i = 0; i < 39; i++) {
      const value = reward(i);
      if (value === null) continue;
      const current = best.get(`h${i % 9}`);
      if (!current || value > current.reward) best.set(`h${i % 9}`, { index: i, reward: value });
    }
    const want = [...best.entries()].sort(([, a], [, b]) => b.reward - a.reward || a.index - b.index);
    const cells = await bestCells(db, experimentId, 100);
    assert.deepEqual(
      cells.map((c) => [c.cellHash, c.index, c.reward]),
      want.map(([hash, c]) => [hash, c.index, c.reward]),
    );
    assert.equal(new Set(cells.map((c) => c.cellHash)).size, cells.length);
    assert.deepEqual(
      (await bestCells(db, experimentId, 3)).map((c) => c.sampleId),
      cells.slice(0, 3).map((c) => c.sampleId),
    );
    const experiment = (await getExperiment(db, experimentId))!;
    assert.equal(experiment.bestSampleId, cells[0]!.sampleId);
    assert.equal(experiment.failedCount, 1);
    assert.deepEqual(cells[0]!.genotype, architectureSampled(experimentId, cells[0]!.index).data.genotype);
  });

  it('answers from indexes', async () => {
    const plan = async (sql: string) =>
      (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)).map((r) => r.detail).join('; ');
    assert.match(
      await plan("SELECT * FROM rm_samples WHERE experiment_id = 'pg' AND reward < 0.5 ORDER BY reward DESC, idx LIMIT 5"),
      /USING INDEX rm_samples_by_reward/,
    );
    assert.doesNotMatch(
      await plan("SELECT * FROM rm_samples WHERE experiment_id = 'pg' AND reward < 0.5 ORDER BY reward DESC, idx LIMIT 5"),
      /TEMP B-TREE/,
    );
    assert.match(
      await plan("SELECT * FROM rm_best_cells WHERE experiment_id = 'pg' ORDER BY reward DESC, idx LIMIT 5"),
      /USING (COVERING )?INDEX rm_best_cells_by_reward/,
    );
    assert.match(
      await plan(
        'SELECT * FROM rm_trials WHERE sample_id IN (SELECT value FROM json_each(\'["a"]\')) ORDER BY sample_id, attempt',
      ),
      /SEARCH rm_trials USING PRIMARY KEY/,
    );
  });
});

describe('trial epochs', () => {
  it('keep each epoch a training reported, per attempt; heartbeats neither add rows nor erase metrics', async () => {
    const experimentId = 'ep';
    const id = sampleId(experimentId, 0);
    const progress = (attempt: number, epoch: number, metrics: Record<string, number>, n: number) => ({
      stream: trialStream(id),
      event: envelope(
        experimentId,
        'TrainingProgressed',
        { experimentId, sampleId: id, attempt, epoch, epochs: 2, metrics },
        'w',
        ...[id, attempt, epoch, n],
      ),
    });
    const store = await newStore('epochs.db');
    await appendAll(store, [
      { stream: experimentStream(experimentId), event: experimentCreated(experimentId) },
      { stream: experimentStream(experimentId), event: architectureSampled(experimentId, 0) },
      progress(1, 0, {}, 0),
      progress(1, 1, { loss: 1.5, accuracy: 0.4 }, 0),
      progress(1, 1, {}, 1),
      progress(2, 1, {}, 0),
      progress(2, 1, { loss: 1.25 }, 1),
      progress(2, 2, { loss: 0.75 }, 0),
    ]);
    const db = await readModels('epochs.db');
    await catchUp(store, db);
    const epochs = await epochsForTrials(db, [
      { sampleId: id, attempt: 1 },
      { sampleId: id, attempt: 2 },
      { sampleId: id, attempt: 3 },
    ]);
    const brief = (attempt: number) => epochs.get(`${id}#${attempt}`)!.map((e) => [e.epoch, e.epochs, e.metrics]);
    assert.deepEqual(brief(1), [[1, 2, { loss: 1.5, accuracy: 0.4 }]]);
    assert.deepEqual(brief(2), [
      [1, 2, { loss: 1.25 }],
      [2, 2, { loss: 0.75 }],
    ]);
    assert.deepEqual(brief(3), []);
  });
});

const sampleRows = async (db: SqliteConnection) => (await db.get<{ n: number }>('SELECT count(*) AS n FROM rm_samples'))!.n;

describe('read models from an older nasnet', () => {
  it('are projected again from the start when the trial-epochs version arrives, so no table misses old events', async () => {
    const path = join(dir, 'upgrade.db');
    const store = await newStore('upgrade.db');
    const experimentId = 'up';
    const id = sampleId(experimentId, 0);
    await appendAll(store, [
      { stream: experimentStream(experimentId), event: experimentCreated(experimentId) },
      { stream: experimentStream(experimentId), event: architectureSampled(experimentId, 0) },
      {
        stream: trialStream(id),
        event: envelope(
          experimentId,
          'TrainingProgressed',
          { experimentId, sampleId: id, attempt: 1, epoch: 1, epochs: 1, metrics: { loss: 0.5 } },
          'w',
          id,
        ),
      },
    ]);
    // The file as version 2 left it: the read models projected, no rm_trial_epochs or new indexes.
    const old = await SqliteConnection.open(path);
    await catchUp(store, old);
    await old.exec('DELETE FROM nasnet_schema WHERE version > 2; DROP TABLE rm_trial_epochs;');
    for (const index of ['by_reward_asc', 'by_finished', 'by_status', 'by_cell', 'by_policy', 'curve'])
      await old.exec(`DROP INDEX rm_samples_${index}`);
    assert.ok((await readCheckpoint(old)) > 0n);
    assert.equal(await sampleRows(old), 1);
    await old.close();

    const db = await readModels('upgrade.db');
    assert.equal(await readCheckpoint(db), 0n, 'the checkpoint starts over');
    assert.equal(await sampleRows(db), 0);
    await catchUp(store, db);
    assert.equal((await getExperiment(db, experimentId))!.sampleCount, 1);
    assert.deepEqual(
      (await epochsForTrials(db, [{ sampleId: id, attempt: 1 }])).get(`${id}#1`)!.map((e) => e.metrics),
      [{ loss: 0.5 }],
    );
  });
});
