import type { RecordedEvent } from '../../core/events/event.ts';
import { trialKey, type Trial } from '../../core/projections/queries.ts';
import type { GraphqlContext } from '../context.ts';

/** Whether a trial-stream event belongs to this attempt (every trial event's data names its attempt). */
const ofAttempt = (event: RecordedEvent, attempt: number) => (event.data as { attempt?: unknown }).attempt === attempt;

export const trialResolvers = {
  id: (trial: Trial) => trialKey(trial),
  worker: (trial: Trial) => trial.workerId,
  metrics: (trial: Trial, _: unknown, context: GraphqlContext) => context.loaders.epochsByTrial.load(trial),
  events: async (trial: Trial, _: unknown, context: GraphqlContext) =>
    (await context.loaders.trialEventsBySample.load(trial.sampleId)).filter((event) => ofAttempt(event, trial.attempt)),
};
