import { eventMetadata } from '../../core/events/metadata.ts';
import { experimentStream } from '../../core/events/streams.ts';
import type { Experiment } from '../../core/projections/queries.ts';
import { decideStop } from '../../core/runtime/decide-stop.ts';
import { foldEvent, type ExperimentState } from '../../core/runtime/experiment-state.ts';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../../core/store/errors.ts';
import type { GraphqlContext } from '../context.ts';
import { badInput, isId, quote } from '../resolvers/input.ts';
import { authorize } from './authorize.ts';
import { experimentAsWritten } from './experiment-as-written.ts';

/** `Mutation.stopExperiment`: appends ExperimentStopped; the experiment's controller, wherever it runs, stops on reading it. */
export async function stopExperiment(context: GraphqlContext, id: string): Promise<Experiment> {
  authorize(context, 'stopExperiment');
  const { store, writerId } = context.services;
  const unknown = () => badInput(`no experiment ${quote(id)} in this store`, 'NOT_FOUND');
  if (!isId(id)) throw unknown();
  const stream = experimentStream(id);
  for (let attempt = 1; ; attempt++) {
    const { events } = await store.readStream(stream);
    const experiments = new Map<string, ExperimentState>();
    for (const event of events) foldEvent(experiments, event);
    const command = { reason: 'stopped through GraphQL', metadata: eventMetadata(id, writerId) };
    const decision = decideStop(experiments.get(id), command);
    if (decision.kind === 'not-found') throw unknown();
    if (decision.kind === 'not-running')
      throw badInput(`experiment ${id} is ${decision.status}, not running: nothing to stop`, 'NOT_RUNNING');
    try {
      await store.append(stream, [decision.event], decision.expectedRevision);
      break;
    } catch (error) {
      // The controller appended meanwhile (perhaps its own stop, with this very event id): look again.
      if (!(error instanceof WrongExpectedVersionError || error instanceof DuplicateEventIdError) || attempt >= 3) throw error;
    }
  }
  return experimentAsWritten(context, id);
}
