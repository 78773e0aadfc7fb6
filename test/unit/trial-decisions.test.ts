import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { architectureSampled } from '../../core/events/experiment-events.ts';
import { createStrategy } from '../../core/controller/create-strategy.ts';
import type { SampledArchitecture } from '../../core/controller/strategy.ts';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import { experimentStream, trialStream } from '../../core/events/streams.ts';
import { foldEvents } from '../../core/runtime/experiment-state.ts';
import { DEFAULT_TRIALS } from '../../core/runtime/search-config.ts';
import { decideTrial, type DecisionContext } from '../../core/runtime/trial-decisions.ts';

const T0 = Date.parse('2026-11-28T00:00:00.000Z');
const [first, second] = createStrategy('random', 1).sampleBatch([0, 1]) as [SampledArchitecture, SampledArchitecture];
/** Sample 2 is the same cell as sample 0 (same decisions, another index). */
const twin: SampledArchitecture = { ...first, index: 2 };

type Data<T extends NasnetEvent['type']> = Extract<NasnetEvent, { type: T }>['data'];

/** given: a log (as [stream, type, data, seconds after T0]); the fold gives the state. */
function given(trialEvents: Array<[number, NasnetEvent['type'], Record<string, unknown>, number]>) {
  const revisions = new Map<string, bigint>();
  const log: RecordedEvent[] = [];
  const push = (stream: string, event: NasnetEvent) => {
    const revision = revisions.has(stream) ? revisions.get(stream)! + 1n : 0n;
    revisions.set(stream, revision);
    log.push({ ...event, stream, revision, position: BigInt(log.length + 1) } as RecordedEvent);
  };
  const meta = (seconds: number) => eventMetadata('e', 'test', null, new Date(T0 + seconds * 1000));
  push(experimentStream('e'), {
    id: 'c',
    type: 'ExperimentCreated',
    version: 1,
    data: { experimentId: 'e', config: {}, seed: 1, codeVersion: 't' } as Data<'ExperimentCreated'>,
    metadata: meta(0),
  });
  for (const sample of [first, second, twin]) push(experimentStream('e'), architectureSampled('e', sample, meta(0)));
  for (const [index, type, data, seconds] of trialEvents) {
    push(trialStream(`e-${index}`), {
      id: `${log.length}`,
      type,
      version: 1,
      data: { experimentId: 'e', sampleId: `e-${index}`, ...data },
      metadata: meta(seconds),
    } as NasnetEvent);
  }
  return foldEvents(log).get('e')!;
}

const claim = (attempt: number, workerId = 'host/1/a', leaseSeconds = 60, at = 0) =>
  [
    0,
    'TrialClaimed',
    { workerId, plugin: 'p', backend: 'b', attempt, leaseDeadline: new Date(T0 + (at + leaseSeconds) * 1000).toISOString() },
    at,
  ] as [number, NasnetEvent['type'], Record<string, unknown>, number];

function context(
  overrides: Partial<DecisionContext> & { seconds?: number; reuse?: boolean; maxAttempts?: number } = {},
): DecisionContext {
  return {
    now: T0 + (overrides.seconds ?? 10) * 1000,
    config: {
      reuse: overrides.reuse ?? true,
      trials: { ...DEFAULT_TRIALS, maxAttempts: overrides.maxAttempts ?? 3, retryBackoffSeconds: 2 },
    },
    holderAlive: overrides.holderAlive ?? (() => true),
  };
}

describe('decideTrial (given a log, when a worker looks, then it decides)', () => {
  it('claims a sample nobody holds, expecting the trial stream not to exist', () => {
    assert.deepEqual(decideTrial(given([]), 0, context()), {
      kind: 'claim',
      attempt: 1,
      expectedRevision: 'no_stream',
      takeoverFrom: null,
    });
  });

  it('waits while a live claim holds its lease; progress renews the lease', () => {
    assert.equal(decideTrial(given([claim(1)]), 0, context({ seconds: 30 })).kind, 'wait');
    const renewed = given([claim(1), [0, 'TrainingProgressed', { attempt: 1, epoch: 1, epochs: 2, metrics: {} }, 50]]);
    assert.equal(decideTrial(renewed, 0, context({ seconds: 90 })).kind, 'wait', 'renewed at 50 s until 110 s');
    assert.deepEqual(decideTrial(renewed, 0, context({ seconds: 111 })), {
      kind: 'claim',
      attempt: 2,
      expectedRevision: 1n,
      takeoverFrom: 'host/1/a',
    });
  });

  it('takes over at once from a holder known to be dead', () => {
    const decision = decideTrial(given([claim(1, 'host/999/z')]), 0, context({ holderAlive: (id) => id !== 'host/999/z' }));
    assert.deepEqual(decision, { kind: 'claim', attempt: 2, expectedRevision: 0n, takeoverFrom: 'host/999/z' });
  });

  it('retries a retryable failure after an exponential back-off, then fails for good', () => {
    const failedOnce = given([claim(1), [0, 'TrainingFailed', { attempt: 1, reason: 'oom', retryable: true }, 5]]);
    assert.equal(decideTrial(failedOnce, 0, context({ seconds: 6 })).kind, 'wait', 'back-off 2 s');
    assert.deepEqual(decideTrial(failedOnce, 0, context({ seconds: 7 })), {
      kind: 'claim',
      attempt: 2,
      expectedRevision: 1n,
      takeoverFrom: null,
    });
    const failedTwice = given([
      claim(1),
      [0, 'TrainingFailed', { attempt: 1, reason: 'oom', retryable: true }, 5],
      claim(2, 'host/1/a', 60, 7),
      [0, 'TrainingFailed', { attempt: 2, reason: 'oom', retryable: true }, 8],
    ]);
    assert.equal(decideTrial(failedTwice, 0, context({ seconds: 11 })).kind, 'wait', 'back-off doubles to 4 s');
    const decision = decideTrial(failedTwice, 0, context({ seconds: 20, maxAttempts: 2 }));
    assert.equal(decision.kind, 'fail');
    assert.match((decision as { reason: string }).reason, /all 2 attempts failed; the last: oom/);
  });

  it('fails a non-retryable failure at once, and a lost last lease when attempts are used up', () => {
    const nan = given([claim(1), [0, 'TrainingFailed', { attempt: 1, reason: 'loss became NaN', retryable: false }, 5]]);
    assert.deepEqual(decideTrial(nan, 0, context()), {
      kind: 'fail',
      attempt: 1,
      reason: 'loss became NaN',
      expectedRevision: 1n,
    });
    const lost = given([claim(1)]);
    assert.equal(decideTrial(lost, 0, context({ seconds: 61, maxAttempts: 1 })).kind, 'fail');
  });

  it('a released claim is not an attempt', () => {
    const released = given([claim(1), [0, 'TrialReleased', { workerId: 'host/1/a', attempt: 1, reason: 'SIGINT' }, 3]]);
    assert.deepEqual(decideTrial(released, 0, context({ maxAttempts: 1 })), {
      kind: 'claim',
      attempt: 2,
      expectedRevision: 1n,
      takeoverFrom: null,
    });
  });

  it('reuses the reward of the same cell trained earlier; waits while the earlier twin trains; --no-reuse trains again', () => {
    assert.deepEqual(decideTrial(given([claim(1)]), 2, context()), {
      kind: 'wait',
      reason: 'the same cell is sample e-0, which trains first',
    });
    const trained = given([claim(1), [0, 'RewardReported', { reward: 0.8, source: 'trained', reusedFromSampleId: null }, 5]]);
    assert.deepEqual(decideTrial(trained, 2, context()), { kind: 'reuse', fromSampleId: 'e-0', reward: 0.8 });
    assert.equal(decideTrial(trained, 2, context({ reuse: false })).kind, 'claim');
    assert.equal(decideTrial(trained, 1, context()).kind, 'claim', 'a different cell is trained');
    assert.equal(decideTrial(trained, 0, context()).kind, 'done');
    const failed = given([claim(1), [0, 'RewardReported', { reward: 0, source: 'failure', reusedFromSampleId: null }, 5]]);
    assert.equal(decideTrial(failed, 2, context()).kind, 'claim', 'a failure reward is not reused');
  });
});
