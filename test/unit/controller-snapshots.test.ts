import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { auditStoredExperiment } from '../../core/audit/audit-store.ts';
import type { StrategyName } from '../../core/controller/strategy.ts';
import type { RecordedEvent } from '../../core/events/event.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import { snapshotStream } from '../../core/events/streams.ts';
import { controllerSnapshotted } from '../../core/events/experiment-events.ts';
import { createExperiment, prepareController } from '../../core/runtime/controller-loop.ts';
import { runSearch } from '../../core/runtime/search.ts';
import type { TrainerPlugin } from '../../core/runtime/trainer-plugin.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import type { EventStore } from '../../core/store/port.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';
import { testSearchConfig } from '../support/search-config.ts';

const dir = await mkdtemp(join(tmpdir(), 'nasnet-snapshots-'));
after(() => rm(dir, { recursive: true, force: true }));
let files = 0;
const freshStore = () => openSqliteStore(join(dir, `s${files++}.db`));

/** Rewards by agreement with NASNet-A: the same cells get the same rewards in every run. */
function plugin(): TrainerPlugin {
  const score = targetSimilarity(NASNET_A);
  return {
    name: 'fake',
    async train(job) {
      return {
        validationAccuracy: score(job.genotype),
        testAccuracy: null,
        loss: 0.5,
        params: 10,
        multAdds: 100,
        seconds: 0.01,
        imagesPerSec: 1,
        backend: 'fake',
        device: 'none',
      };
    },
  };
}

async function controllerEvents(store: EventStore, experimentId: string) {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) if (event.stream === `experiment-${experimentId}`) events.push(event);
  // What the controller decided, without times and writers.
  return events.flatMap((event) =>
    event.type === 'ArchitectureSampled' || event.type === 'PolicyUpdated' ? [{ type: event.type, data: event.data }] : [],
  );
}

/** A search stopped after `stopAt` updates, snapshotting every `every` updates. */
async function stoppedSearch(strategy: StrategyName, every: number, stopAt: number) {
  const store = await freshStore();
  const experimentId = strategy;
  const config = testSearchConfig({ strategy, samples: 16, controller: { batchSize: 2, ppoEpochs: 1 } }, 1);
  await createExperiment(store, { experimentId, config, seed: 5, codeVersion: 'test', writerId: 'test' });
  const stop = new AbortController();
  const first = await runSearch({
    store,
    experimentId,
    writerId: 'first',
    plugin: plugin(),
    workers: 1,
    signal: stop.signal,
    tickMs: 10,
    snapshotEvery: every,
    onActivity: (activity) => {
      if (activity.kind === 'updated' && activity.policyVersion === stopAt) stop.abort(new Error('stop'));
    },
  });
  assert.equal(first.status, 'stopped');
  return { store, experimentId };
}

/** The same search stopped and then resumed to the end. */
async function stoppedAndResumed(strategy: StrategyName, every: number, stopAt: number) {
  const { store, experimentId } = await stoppedSearch(strategy, every, stopAt);
  const prepared = await prepareController(store, experimentId);
  const second = await runSearch({
    store,
    experimentId,
    writerId: 'second',
    plugin: plugin(),
    workers: 1,
    signal: new AbortController().signal,
    tickMs: 10,
    snapshotEvery: every,
  });
  assert.equal(second.status, 'completed');
  return { store, experimentId, prepared, events: await controllerEvents(store, experimentId) };
}

describe('controller snapshots', () => {
  for (const strategy of ['ppo', 'reinforce', 'evolution', 'random'] as const) {
    it(`${strategy}: a resume from a snapshot replays only the tail and writes exactly what a resume from scratch writes`, async () => {
      const withSnapshots = await stoppedAndResumed(strategy, 2, 5);
      const without = await stoppedAndResumed(strategy, 0, 5);
      assert.ok(withSnapshots.prepared.state.updates.length >= 5);
      assert.equal(withSnapshots.prepared.replayed, withSnapshots.prepared.state.updates.length - 4, 'from the v4 snapshot');
      assert.equal(without.prepared.replayed, without.prepared.state.updates.length, 'from the start');
      assert.deepEqual(withSnapshots.prepared.ignored, []);
      assert.equal(withSnapshots.prepared.strategy.digest(), without.prepared.strategy.digest());
      assert.deepEqual(withSnapshots.events, without.events);
      const audit = await auditStoredExperiment(withSnapshots.store, withSnapshots.experimentId);
      assert.equal(audit.ok, true);
      await withSnapshots.store.close();
      await without.store.close();
    });
  }

  it('ignores a corrupt or forged snapshot, says why, and starts from an older one or from scratch', async () => {
    const { store, experimentId } = await stoppedSearch('ppo', 2, 5);
    const { state } = await prepareController(store, experimentId);
    const snapshots = snapshotStream(experimentId);
    const last = state.updates.at(-1)!;
    const real = (await store.readStream(snapshots, { direction: 'backwards', maxCount: 1 })).events[0]!;
    assert.equal(real.type, 'ControllerSnapshotted');
    const realData = real.data as unknown as { policyVersion: number; snapshot: { params: string; baseline: number | null } };
    const meta = eventMetadata(experimentId, 'forger');
    const forge = (policyVersion: number, paramsDigest: string, snapshot: Record<string, unknown>) =>
      controllerSnapshotted({ experimentId, policyVersion, paramsDigest, snapshot: snapshot as never }, meta);
    // The right digest for the newest update over tampered parameters, and a digest no update recorded.
    const tampered = { ...realData.snapshot, policyVersion: last.policyVersion, baseline: 0.99 };
    await store.append(snapshots, [forge(last.policyVersion, last.paramsDigestAfter, tampered)], 'any');
    await store.append(snapshots, [forge(last.policyVersion - 1, 'f'.repeat(64), realData.snapshot)], 'any');
    const again = await prepareController(store, experimentId);
    assert.deepEqual(
      again.ignored.map((line) => line.replace(/ v\d+/g, ' vN')),
      [
        'snapshot vN ignored: its digest is not the one PolicyUpdated vN recorded',
        'snapshot vN ignored: the state it restores does not hash to its digest',
      ],
    );
    assert.equal(again.strategy.digest(), last.paramsDigestAfter);
    assert.ok(again.replayed < state.updates.length, 'the older real snapshot is behind the two forged ones, within reach');
    await store.close();
  });
});
