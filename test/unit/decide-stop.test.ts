import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStrategy } from '../../core/controller/create-strategy.ts';
import { NASNET_CATALOGUE } from '../../core/events/catalogue-registry.ts';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import {
  architectureSampled,
  experimentCompleted,
  experimentCreated,
  experimentResumed,
  experimentStopped,
} from '../../core/events/experiment-events.ts';
import { deterministicEventId } from '../../core/events/ids.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import { experimentStream } from '../../core/events/streams.ts';
import { validateEvent } from '../../core/events/validate.ts';
import { decideStop, type StopCommand } from '../../core/runtime/decide-stop.ts';
import { foldEvents } from '../../core/runtime/experiment-state.ts';

const meta = eventMetadata('e', 'test', null, new Date('2026-11-28T00:00:00.000Z'));
const samples = createStrategy('random', 1).sampleBatch([0, 1, 2]);

const created = experimentCreated({ experimentId: 'e', config: {}, seed: 1, codeVersion: 't' }, meta);
const sampled = samples.map((sample) => architectureSampled('e', sample, meta));
const stoppedAt = (revision: bigint) => experimentStopped({ experimentId: 'e', reason: 'earlier', samples: 3 }, revision, meta);
const resumedAt = (revision: bigint) => experimentResumed({ experimentId: 'e', samples: 3, writerId: 'w' }, revision, meta);
const completed = experimentCompleted(
  { experimentId: 'e', samples: 3, completed: 3, failed: 0, bestSampleId: 'e-0', bestReward: 0.5 },
  meta,
);

/** given: the experiment stream's events, in order; the fold gives the state decideStop sees. */
function given(events: NasnetEvent[]) {
  const log: RecordedEvent[] = events.map((event, i) => ({
    ...event,
    stream: experimentStream('e'),
    revision: BigInt(i),
    position: BigInt(i + 1),
  }));
  return foldEvents(log).get('e');
}

const command: StopCommand = { reason: 'stopped through GraphQL', metadata: eventMetadata('e', 'graphql') };

describe('decideStop (given an experiment stream, when someone stops it, then a stop or a refusal)', () => {
  it('stops a running experiment after its last revision, recording the reason and the samples drawn', () => {
    const decision = decideStop(given([created, ...sampled]), command);
    assert.equal(decision.kind, 'stop');
    assert.equal(decision.expectedRevision, 3n);
    assert.deepEqual(decision.event.data, { experimentId: 'e', reason: 'stopped through GraphQL', samples: 3 });
    assert.equal(decision.event.id, deterministicEventId('e', 'ExperimentStopped', 3n));
    assert.equal(decision.event.metadata, command.metadata);
    assert.equal(validateEvent(decision.event, NASNET_CATALOGUE), decision.event);
  });

  it('decides the same event id at the same revision (a retried request appends once), another at another revision', () => {
    const first = decideStop(given([created, ...sampled]), command);
    const again = decideStop(given([created, ...sampled]), { ...command, metadata: eventMetadata('e', 'other') });
    const earlier = decideStop(given([created, ...sampled.slice(0, 2)]), command);
    assert.ok(first.kind === 'stop' && again.kind === 'stop' && earlier.kind === 'stop');
    assert.equal(again.event.id, first.event.id);
    assert.notEqual(earlier.event.id, first.event.id);
  });

  it('stops a resumed experiment', () => {
    const decision = decideStop(given([created, ...sampled, stoppedAt(3n), resumedAt(4n)]), command);
    assert.equal(decision.kind, 'stop');
    assert.equal(decision.expectedRevision, 5n);
  });

  it('refuses an experiment that is not in the store', () => {
    assert.deepEqual(decideStop(given([]), command), { kind: 'not-found' });
  });

  it('refuses a stopped experiment, saying it is stopped', () => {
    assert.deepEqual(decideStop(given([created, ...sampled, stoppedAt(3n)]), command), {
      kind: 'not-running',
      status: 'stopped',
    });
  });

  it('refuses a completed experiment, saying it is completed', () => {
    assert.deepEqual(decideStop(given([created, ...sampled, completed]), command), {
      kind: 'not-running',
      status: 'completed',
    });
  });
});
