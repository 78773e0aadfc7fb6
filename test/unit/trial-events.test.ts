import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NASNET_CATALOGUE } from '../../core/events/catalogue-registry.ts';
import { currentVersion } from '../../core/events/catalogue.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import { trainingCompleted, trainingFailed, type MeasuredResult } from '../../core/events/trial-events.ts';
import { validateEvent } from '../../core/events/validate.ts';

const trial = { experimentId: 'e', sampleId: 'e-0', attempt: 1 };
const meta = eventMetadata('e', 'host/1/a');
const measured = (loss: number): MeasuredResult => ({
  validationAccuracy: 0.5,
  testAccuracy: null,
  loss,
  params: 10,
  multAdds: 100,
  seconds: 1,
  imagesPerSec: 2,
  backend: 'wasm',
  device: 'cpu',
});

describe('trial events', () => {
  it('records a finite loss as it is', () => {
    const event = trainingCompleted(trial, measured(0.25), meta);
    assert.equal(event.data.loss, 0.25);
    assert.equal(event.version, currentVersion('TrainingCompleted'));
    assert.equal(validateEvent(event, NASNET_CATALOGUE), event);
  });

  for (const loss of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`records a diverged training's loss (${loss}) as null, not as a number, and the event is valid`, () => {
      const event = trainingCompleted(trial, measured(loss), meta);
      assert.equal(event.data.loss, null);
      assert.equal(validateEvent(event, NASNET_CATALOGUE), event);
    });
  }

  it('keeps a failure reason short and never empty', () => {
    const long = trainingFailed({ ...trial, reason: 'x'.repeat(5000), retryable: true }, meta);
    const empty = trainingFailed({ ...trial, reason: '', retryable: false }, meta);
    assert.equal(long.data.reason.length, 2000);
    assert.equal(empty.data.reason, 'unknown error');
  });
});
