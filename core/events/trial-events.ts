import type { EventData } from './catalogue.ts';
import type { EventMetadata, EventOfType } from './event.ts';
import { deterministicEventId, randomEventId } from './ids.ts';
import { newEvent } from './new-event.ts';

/*
 * The events of a `trial-<sampleId>` stream, written by the workers. Ids are derived from the
 * sample and the attempt where the event happens once per attempt, so a retried append is
 * stored once.
 */

/** One attempt at one trial (a TrainingJob is one). */
export interface TrialAttempt {
  experimentId: string;
  sampleId: string;
  attempt: number;
}

export function trialClaimed(data: EventData<'TrialClaimed'>, metadata: EventMetadata): EventOfType<'TrialClaimed'> {
  // With the worker id: two workers racing for one attempt must not write the same event, or
  // the loser would mistake the winner's claim for its own.
  const id = deterministicEventId(data.sampleId, 'TrialClaimed', data.attempt, data.workerId);
  return newEvent('TrialClaimed', id, data, metadata);
}

/** Random ids: a heartbeat repeats the epoch of the progress before it and is still a new event. */
export function trainingProgressed(
  data: EventData<'TrainingProgressed'>,
  metadata: EventMetadata,
): EventOfType<'TrainingProgressed'> {
  return newEvent('TrainingProgressed', randomEventId(), data, metadata);
}

export function trialReleased(data: EventData<'TrialReleased'>, metadata: EventMetadata): EventOfType<'TrialReleased'> {
  const id = deterministicEventId(data.sampleId, 'TrialReleased', data.attempt, data.workerId);
  return newEvent('TrialReleased', id, data, metadata);
}

/** What a trainer measured (a TrainingResult is one); its loss may be NaN or infinite. */
export type MeasuredResult = Omit<EventData<'TrainingCompleted'>, keyof TrialAttempt | 'loss' | 'device' | 'evaluation'> & {
  loss: number;
  device?: string;
  evaluation?: EventData<'TrainingCompleted'>['evaluation'];
};

export function trainingCompleted(
  trial: TrialAttempt,
  result: MeasuredResult,
  metadata: EventMetadata,
): EventOfType<'TrainingCompleted'> {
  const { experimentId, sampleId, attempt } = trial;
  return newEvent(
    'TrainingCompleted',
    deterministicEventId(sampleId, 'TrainingCompleted', attempt),
    {
      experimentId,
      sampleId,
      attempt,
      validationAccuracy: result.validationAccuracy,
      testAccuracy: result.testAccuracy,
      // A diverged run has no loss to report, and JSON has no NaN: null, not a made-up number.
      loss: Number.isFinite(result.loss) ? result.loss : null,
      params: result.params,
      multAdds: result.multAdds,
      seconds: result.seconds,
      imagesPerSec: result.imagesPerSec,
      backend: result.backend,
      ...(result.device ? { device: result.device } : {}),
      ...(result.evaluation
        ? { evaluation: { batchNorm: result.evaluation.batchNorm, recalibrationImages: result.evaluation.recalibrationImages } }
        : {}),
    },
    metadata,
  );
}

/** The reason is cut to 2000 characters (a stack trace is not a reason) and never empty. */
export function trainingFailed(data: EventData<'TrainingFailed'>, metadata: EventMetadata): EventOfType<'TrainingFailed'> {
  const id = deterministicEventId(data.sampleId, 'TrainingFailed', data.attempt);
  return newEvent('TrainingFailed', id, { ...data, reason: data.reason.slice(0, 2000) || 'unknown error' }, metadata);
}

/** One reward per sample, whoever reports it: the id names the sample only. */
export function rewardReported(data: EventData<'RewardReported'>, metadata: EventMetadata): EventOfType<'RewardReported'> {
  return newEvent('RewardReported', deterministicEventId(data.sampleId, 'RewardReported'), data, metadata);
}
