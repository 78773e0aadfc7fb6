import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { auditExperiment } from '../../core/audit/audit.ts';
import { auditStoredExperiment, createIncrementalAuditor } from '../../core/audit/audit-store.ts';
import type { RecordedEvent } from '../../core/events/event.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';
import { simulateExperiment } from '../support/simulate.ts';

const dir = await mkdtemp(join(tmpdir(), 'nasnet-audit-'));
after(() => rm(dir, { recursive: true, force: true }));

const reward = targetSimilarity(NASNET_A);
const controller = { batchSize: 5, ppoEpochs: 2 };
const clean = simulateExperiment({ experimentId: 'aud', strategy: 'ppo', seed: 3, batches: 3, reward, controller });

/** A deep copy of the log with one event changed. */
function tamper(
  events: RecordedEvent[],
  pick: (e: RecordedEvent) => boolean,
  change: (e: RecordedEvent) => void,
  nth = 0,
): RecordedEvent[] {
  const copy = events.map((e) => structuredClone(e));
  const target = copy.filter(pick)[nth];
  assert.ok(target, 'the event to tamper with exists');
  change(target);
  return copy;
}

const AUDITED_TYPES: string[] = [
  'ExperimentCreated',
  'ControllerInitialized',
  'ArchitectureSampled',
  'RewardReported',
  'PolicyUpdated',
];
const isUpdate = (version: number) => (e: RecordedEvent) => e.type === 'PolicyUpdated' && e.data.policyVersion === version;

describe('audit', () => {
  it('passes an untouched experiment, re-deriving every sample and update', () => {
    const report = auditExperiment(clean);
    const lastAudited = clean.filter((e) => AUDITED_TYPES.includes(e.type)).at(-1)!;
    assert.deepEqual(report, {
      ok: true,
      checkedSamples: 15,
      checkedUpdates: 3,
      firstDivergence: null,
      position: lastAudited.position.toString(),
    });
    for (const strategy of ['reinforce', 'random']) {
      const log = simulateExperiment({ experimentId: `aud-${strategy}`, strategy, seed: 9, batches: 2, reward, controller });
      assert.equal(auditExperiment(log).ok, true, strategy);
    }
  });

  it('catches a tampered reward, naming the update that used it', () => {
    const log = tamper(
      clean,
      (e) => e.type === 'RewardReported',
      (e) => {
        if (e.type === 'RewardReported') e.data.reward += 0.25;
      },
      7,
    );
    const { ok, firstDivergence } = auditExperiment(log);
    assert.equal(ok, false);
    const update = log.find(isUpdate(2))!;
    assert.equal(firstDivergence!.position, update.position.toString());
    assert.equal(firstDivergence!.what, 'reward of aud-7 in PolicyUpdated v2');
    assert.equal(firstDivergence!.found, (update.data as { samples: Array<{ reward: number }> }).samples[2]!.reward);
  });

  it('catches a reward tampered consistently in the trial and the update: the digest no longer reproduces', () => {
    let log = tamper(
      clean,
      (e) => e.type === 'RewardReported',
      (e) => {
        if (e.type === 'RewardReported') e.data.reward = 0.99;
      },
      1,
    );
    log = tamper(log, isUpdate(1), (e) => {
      if (e.type === 'PolicyUpdated') e.data.samples[1]!.reward = 0.99;
    });
    const { firstDivergence } = auditExperiment(log);
    assert.equal(firstDivergence!.eventType, 'PolicyUpdated');
    assert.match(firstDivergence!.what, /^(meanReward|baselineAfter|stats|paramsDigestAfter) of PolicyUpdated v1$/);
  });

  it('catches a tampered digest', () => {
    const log = tamper(clean, isUpdate(2), (e) => {
      if (e.type === 'PolicyUpdated') e.data.paramsDigestAfter = 'f'.repeat(64);
    });
    const { firstDivergence } = auditExperiment(log);
    assert.equal(firstDivergence!.what, 'paramsDigestAfter of PolicyUpdated v2');
    assert.equal(firstDivergence!.found, 'f'.repeat(64));
    assert.equal(firstDivergence!.expected, (clean.find(isUpdate(2))!.data as { paramsDigestAfter: string }).paramsDigestAfter);
  });

  it('catches updates out of order', () => {
    const v1 = clean.findIndex(isUpdate(1));
    const v2 = clean.findIndex(isUpdate(2));
    const log = clean.map((e) => structuredClone(e));
    const moved = log[v1]!;
    log[v1] = { ...log[v2]!, position: moved.position };
    log[v2] = { ...moved, position: log[v2]!.position };
    const { firstDivergence } = auditExperiment(log);
    assert.equal(firstDivergence!.position, clean[v1]!.position.toString());
    assert.equal(firstDivergence!.what, 'policy version after 0');
    assert.equal(firstDivergence!.expected, 1);
    assert.equal(firstDivergence!.found, 2);
  });

  it('catches a missing update at the first sample of the policy it would have made', () => {
    const log = clean.filter((e) => !isUpdate(1)(e));
    const { firstDivergence } = auditExperiment(log);
    const firstOfV1 = clean.find((e) => e.type === 'ArchitectureSampled' && e.data.policyVersion === 1)!;
    assert.equal(firstDivergence!.position, firstOfV1.position.toString());
    assert.equal(firstDivergence!.what, 'policyVersion of sample 5');
    assert.deepEqual([firstDivergence!.expected, firstDivergence!.found], [0, 1]);
  });

  it('catches a sample whose actions or log-probability are not what its policy draws', () => {
    const actions = tamper(
      clean,
      (e) => e.type === 'ArchitectureSampled',
      (e) => {
        if (e.type === 'ArchitectureSampled') e.data.actions[3] = (e.data.actions[3]! + 1) % 13;
      },
      6,
    );
    assert.equal(auditExperiment(actions).firstDivergence!.what, 'actions of sample 6');
    const logProb = tamper(
      clean,
      (e) => e.type === 'ArchitectureSampled',
      (e) => {
        if (e.type === 'ArchitectureSampled') e.data.logProb += 1e-9;
      },
      11,
    );
    assert.equal(auditExperiment(logProb).firstDivergence!.what, 'logProb of sample 11');
  });

  it('audits an experiment stored in SQLite, ignoring another experiment in the same store', async () => {
    const store = await openSqliteStore(join(dir, 'audit.db'));
    try {
      const other = simulateExperiment({ experimentId: 'aud-2', strategy: 'random', seed: 1, batches: 1, reward, controller });
      for (const event of [...clean, ...other].sort((a, b) => (a.position < b.position ? -1 : 1))) {
        const { stream, revision, position: _p, ...written } = event;
        await store.append(stream, [written as never], revision === 0n ? 'no_stream' : revision - 1n);
      }
      const { position, ...report } = await auditStoredExperiment(store, 'aud');
      assert.deepEqual(report, { ok: true, checkedSamples: 15, checkedUpdates: 3, firstDivergence: null });
      let last = '';
      for await (const event of store.readAll())
        if (AUDITED_TYPES.includes(event.type) && (event.data as { experimentId: string }).experimentId === 'aud')
          last = event.position.toString();
      assert.equal(position, last, 'the report says how far it read');
    } finally {
      await store.close();
    }
  });

  describe('incremental', () => {
    const longer = simulateExperiment({ experimentId: 'inc', strategy: 'ppo', seed: 4, batches: 4, reward, controller });
    const upTo = (version: number) => longer.findIndex((e) => e.type === 'PolicyUpdated' && e.data.policyVersion === version) + 1;

    async function storeWith(events: readonly RecordedEvent[]) {
      const store = await openSqliteStore(join(dir, `inc-${Math.random().toString(36).slice(2)}.db`));
      await appendTo(store, events);
      return store;
    }

    async function appendTo(store: Awaited<ReturnType<typeof openSqliteStore>>, events: readonly RecordedEvent[]) {
      for (const event of events) {
        const { stream, revision, position: _p, ...written } = event;
        await store.append(stream, [written as never], revision === 0n ? 'no_stream' : revision - 1n);
      }
    }

    it('goes on from the last verified event and ends where a full audit ends', async () => {
      const store = await storeWith(longer.slice(0, upTo(2)));
      try {
        const auditor = createIncrementalAuditor(store);
        const first = await auditor.audit('inc');
        assert.equal(first.from, '0');
        assert.equal(first.checkedUpdates, 2);
        await appendTo(store, longer.slice(upTo(2)));
        const second = await auditor.audit('inc');
        assert.equal(second.from, first.position, 'it went on from where the first stopped');
        const { from: _from, ...incremental } = second;
        assert.deepEqual(incremental, await auditStoredExperiment(store, 'inc'));
        assert.equal(second.checkedUpdates, 4);
      } finally {
        await store.close();
      }
    });

    it('catches tampering in the new part, and starts over when the log under its checkpoint changed', async () => {
      const store = await storeWith(longer.slice(0, upTo(2)));
      try {
        // A view of the store whose stream reads can be made to miss the event the auditor stopped at.
        let replaced = false;
        const view = Object.create(store) as typeof store;
        view.readStream = (stream, options) =>
          replaced ? Promise.resolve({ exists: true, events: [], nextRevision: 0n } as never) : store.readStream(stream, options);
        const auditor = createIncrementalAuditor(view);
        assert.equal((await auditor.audit('inc')).ok, true);
        const rest = tamper(longer.slice(upTo(2)), isUpdate(3), (e) => {
          if (e.type === 'PolicyUpdated') e.data.meanReward += 0.01;
        });
        await appendTo(store, rest);
        const tampered = await auditor.audit('inc');
        assert.equal(tampered.ok, false);
        assert.notEqual(tampered.from, '0');
        assert.equal(tampered.firstDivergence!.what, 'meanReward of PolicyUpdated v3');
        replaced = true;
        const again = await auditor.audit('inc');
        assert.equal(again.from, '0', 'a full audit when the log below the checkpoint is not the one it verified');
        assert.equal(again.firstDivergence!.what, 'meanReward of PolicyUpdated v3');
      } finally {
        await store.close();
      }
    });
  });
});
